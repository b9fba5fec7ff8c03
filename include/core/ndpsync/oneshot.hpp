// `ndpsync reconcile`: look once, apply the difference, report. Talks to the kernel only through
// KernelPort, so the unit tests drive it with the fake.
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
