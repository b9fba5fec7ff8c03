// What `ndpsync reconcile` reports (reconcile_once.hpp in the agent library runs it), and the
// sysctl executor it shares with the agent's SysctlKeeper.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ndpsync/kernel_port.hpp"
#include "ndpsync/reconcile.hpp"
#include "ndpsync/sysctl_sync.hpp"

namespace ndpsync {

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

}  // namespace ndpsync
