// Reads the sysctls the plan needs, plans (sysctl_plan.hpp) and writes them in order. Shared by
// `ndpsync reconcile` and the agent; talks to the kernel only through KernelPort.
#pragma once

#include <string>
#include <vector>

#include "ndpsync/kernel_port.hpp"
#include "ndpsync/sysctl_plan.hpp"

namespace ndpsync {

struct SysctlState {
  SysctlKey key;
  std::string found;  // empty when it could not be read
  std::string set;    // empty when left as found
  std::string reason;
  Status status;
};

enum class SysctlMode : std::uint8_t { kWrite, kDryRun };

// The uplinks' keys as found and set. Every failed write, every global write held back by a
// blocker (sysctl_plan.hpp) and every write skipped because an accept_ra=2 before it failed is
// a failure. A dry run writes nothing, and still reports the blockers.
std::vector<SysctlState> sync_sysctls(SysctlPort& kernel, const Config& config,
                                      const ObservedState& observed,
                                      const std::vector<Uplink>& uplinks, SysctlMode mode,
                                      std::vector<Failure>& failures);

}  // namespace ndpsync
