// `ndpsync reconcile`: look once, apply the difference, report. Talks to the kernel only through
// KernelPort, so the unit tests drive it with the fake.
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
std::vector<SysctlState> sync_sysctls(KernelPort& kernel, const Config& config,
                                      const std::vector<Uplink>& uplinks, bool dry_run,
                                      std::vector<Failure>& failures);

// Applies a plan; failed writes are reported, and the rest is still applied.
void apply_plan(KernelPort& kernel, const Plan& plan, ObservedState& observed,
                std::vector<Failure>& failures);

// How long a one-shot run waits for probed neighbours: the kernel declares a silent one FAILED
// after ucast_solicit (3) x retrans_time (1 s).
constexpr std::chrono::milliseconds kVerifyTimeout{4000};

// `events` (subscribed before the dump) lets a run verify unconfirmed neighbours; without it,
// or with config.verify_neighbours off, every present neighbour is taken at its word.
ReconcileReport reconcile_once(KernelPort& kernel, EventSource* events, const Config& config);

}  // namespace ndpsync
