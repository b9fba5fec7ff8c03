// What `ndpsync reconcile` reports (reconcile_once.hpp in the agent library runs it), and the
// sysctl executor it shares with the agent's SysctlKeeper.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ndpsync/kernel_port.hpp"
#include "ndpsync/reconcile.hpp"

namespace ndpsync {

struct SysctlState {
  SysctlKey key;
  std::string found;  // empty when it could not be read
  std::string set;    // empty when left as found
  std::string reason;
  Status status;
};

struct Failure {
  std::string operation;  // "add", "delete", "sysctl", "dump"
  std::string target;
  Status status;
};

struct ReconcileReport {
  bool dry_run = false;
  std::size_t verified = 0;  // neighbours probed before deciding
  Decision decision;
  Plan plan;
  std::vector<SysctlState> sysctls;
  std::vector<Failure> failures;
  std::map<IfIndex, std::string> names;

  [[nodiscard]] bool failed() const { return !failures.empty(); }
};

// Reads the sysctls the uplinks need, then (unless dry_run) writes the ones that differ, in order.
std::vector<SysctlState> sync_sysctls(SysctlPort& kernel, const Config& config,
                                      const std::vector<Uplink>& uplinks, bool dry_run,
                                      std::vector<Failure>& failures);

}  // namespace ndpsync
