#include "ndpsync/oneshot.hpp"

#include <algorithm>
#include <cstring>

namespace ndpsync {

std::string errno_name(int error) {
  const char* name = strerrorname_np(error);
  return std::string(name != nullptr ? name : "E?") + " (" + std::strerror(error) + ")";
}

std::vector<SysctlState> sync_sysctls(KernelPort& kernel, const Config& config,
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

void apply_plan(KernelPort& kernel, const Plan& plan, ObservedState& observed,
                std::vector<Failure>& failures) {
  for (const auto& entry : plan.remove) {
    const auto status = kernel.delete_proxy(entry);
    if (status.ok()) {
      observed.note_proxy_removed(entry);
    } else {
      failures.push_back({"delete", entry.address.to_string(), status});
    }
  }
  for (const auto& entry : plan.add) {
    const auto status = kernel.add_proxy(entry);
    if (status.ok()) {
      observed.note_proxy_added(entry);
    } else {
      failures.push_back({"add", entry.address.to_string(), status});
    }
  }
}

ReconcileReport reconcile_once(KernelPort& kernel, const Config& config) {
  ReconcileReport report;
  report.dry_run = config.dry_run;
  auto snapshot = kernel.dump();
  if (!snapshot.ok()) {
    report.failures.push_back({"dump", "kernel state", snapshot.status});
    return report;
  }
  ObservedState observed;
  observed.replace(std::move(snapshot.value));
  for (const auto& [index, link] : observed.links()) {
    report.names[index] = link.name;
  }
  report.decision = decide(config, observed);
  report.plan = reconcile(report.decision, observed.proxies(), config.owner_protocol);
  // Sysctls first: accept_ra must be 2 before forwarding is switched on, and entries are useless
  // until proxy_ndp is set.
  report.sysctls =
      sync_sysctls(kernel, config, report.decision.uplinks, config.dry_run, report.failures);
  if (!config.dry_run) {
    apply_plan(kernel, report.plan, observed, report.failures);
  }
  return report;
}

}  // namespace ndpsync
