#include "ndpsync/oneshot.hpp"

#include <algorithm>
#include <cstring>
#include <set>

namespace ndpsync {

std::vector<SysctlState> sync_sysctls(SysctlPort& kernel, const Config& config,
                                      const std::vector<Uplink>& uplinks, bool dry_run,
                                      std::vector<Failure>& failures) {
  std::vector<SysctlState> states;
  std::map<SysctlKey, std::string> current;
  for (const auto& key : sysctl_keys(config, uplinks)) {
    auto value = kernel.read_sysctl(key);
    if (value.ok()) {
      current[key] = value.value;
    }
    states.push_back({.key = key, .found = value.value, .status = value.status});
  }
  for (const auto& write : plan_sysctls(config, uplinks, current)) {
    auto state = std::find_if(states.begin(), states.end(),
                              [&](const SysctlState& s) { return s.key == write.key; });
    state->set = write.value;
    state->reason = write.reason;
    if (dry_run) {
      continue;
    }
    state->status = kernel.write_sysctl(write.key, write.value);
    if (!state->status.ok()) {
      failures.push_back({"sysctl", write.key.to_string() + "=" + write.value, state->status});
    }
  }
  return states;
}

}  // namespace ndpsync
