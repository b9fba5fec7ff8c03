#include "ndpsync/sysctl_sync.hpp"

#include <algorithm>
#include <cerrno>

namespace ndpsync {
namespace {

std::map<SysctlKey, std::string> read_all(SysctlPort& kernel, const std::vector<SysctlKey>& keys,
                                          std::vector<SysctlState>* states) {
  std::map<SysctlKey, std::string> current;
  for (const auto& key : keys) {
    auto value = kernel.read_sysctl(key);
    if (value.ok()) current[key] = value.value;
    if (states != nullptr) {
      states->push_back({.key = key, .found = value.value, .status = value.status});
    }
  }
  return current;
}

}  // namespace

std::vector<SysctlState> sync_sysctls(SysctlPort& kernel, const Config& config,
                                      const ObservedState& observed,
                                      const std::vector<Uplink>& uplinks, SysctlMode mode,
                                      std::vector<Failure>& failures) {
  std::vector<SysctlState> states;
  auto current = read_all(kernel, sysctl_keys(config, uplinks), &states);
  const auto holders = ra_default_holders(observed);
  current.merge(read_all(kernel, holder_keys(uplinks, holders), nullptr));
  const auto plan = plan_sysctls(config, uplinks, holders, current);
  for (const auto& blocker : plan.blockers) {
    failures.push_back({"sysctl", blocker.iface, {.error = EBUSY, .message = blocker.message()}});
  }
  bool settled = true;
  for (const auto& write : plan.writes) {
    auto state = std::find_if(states.begin(), states.end(),
                              [&](const SysctlState& s) { return s.key == write.key; });
    const auto target = write.key.to_string() + "=" + write.value;
    if (write.stage == SysctlStage::kGlobal && !settled) {
      failures.push_back({"sysctl",
                          target,
                          {.error = ECANCELED,
                           .message = "not written: an accept_ra=2 before it failed, and "
                                      "forwarding would drop the RA default route"}});
      continue;
    }
    state->set = write.value;
    state->reason = write.reason;
    if (mode == SysctlMode::kDryRun) continue;
    state->status = kernel.write_sysctl(write.key, write.value);
    if (!state->status.ok()) {
      failures.push_back({"sysctl", target, state->status});
      if (write.stage == SysctlStage::kSettle) settled = false;
    }
  }
  return states;
}

}  // namespace ndpsync
