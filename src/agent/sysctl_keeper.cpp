#include "ndpsync/sysctl_keeper.hpp"

#include <spdlog/spdlog.h>

namespace ndpsync {

void SysctlKeeper::keep(const Config& config, const ObservedState& observed,
                        const std::vector<Uplink>& uplinks) {
  std::set<std::pair<IfIndex, std::string>> current;
  for (const auto& u : uplinks) current.emplace(u.index, u.name);
  if (current == checked_for_) return;
  std::vector<Failure> failures;
  states_ = sync_sysctls(kernel_, config, observed, uplinks, SysctlMode::kWrite, failures);
  for (const auto& s : states_) {
    first_found_.try_emplace(s.key, s.found);
    if (!s.set.empty() && s.status.ok()) {
      // A key we had already brought into line was changed by someone else (a `networking
      // restart`, an admin): say so, once per repair.
      const bool repair = settled_.contains(s.key);
      spdlog::info("sysctl {}: {} -> {} ({}){}", s.key.to_string(), s.found, s.set, s.reason,
                   repair ? "; it had been changed behind our back" : "");
      if (repair) ++counters_.repairs;
    }
    if (s.status.ok()) settled_.insert(s.key);
  }
  for (const auto& f : failures) {
    ++counters_.errors;
    spdlog::error("{}: {}", f.target, f.status.message);
  }
  checked_for_ = failures.empty() ? current : decltype(current){};
}

std::vector<SysctlState> SysctlKeeper::report() const {
  auto states = states_;
  for (auto& s : states) {
    if (const auto it = first_found_.find(s.key); it != first_found_.end()) s.found = it->second;
  }
  return states;
}

}  // namespace ndpsync
