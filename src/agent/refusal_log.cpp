#include "ndpsync/refusal_log.hpp"

#include <spdlog/spdlog.h>

#include <limits>

#include "ndpsync/report.hpp"

namespace ndpsync {
namespace {

constexpr auto kCapWarningInterval = std::chrono::seconds(60);

}  // namespace

std::optional<std::size_t> RefusalLog::log(const Decision& decision, const ObservedState& observed,
                                           const Config& config, const Scope& scope,
                                           SteadyTime now) {
  std::set<Skipped> current;
  if (!scope.is_everything()) {
    // Incremental: the refusals of other addresses stand as they were.
    current = logged_;
    std::erase_if(current, [&](const Skipped& s) { return scope.addresses().contains(s.address); });
  }
  const auto name = [&observed](IfIndex index) {
    const auto* link = observed.link(index);
    if (index == 0) return std::string("the static list");
    return link != nullptr ? link->name : std::string("?");
  };
  std::size_t capped = 0;
  const Skipped* first_capped = nullptr;
  for_each_skipped(decision, scope, [&](const Skipped& s) {
    if (s.reason == SkipReason::kCap) {
      if (first_capped == nullptr) first_capped = &s;
      ++capped;
      return;
    }
    if (s.reason == SkipReason::kLinkLocal || s.reason == SkipReason::kMulticast) return;
    current.insert(s);
    if (!logged_.contains(s)) {
      spdlog::info("not proxying {} seen on {}: {}", s.address.to_string(), name(s.ifindex),
                   to_string(s.reason));
    }
  });
  logged_ = std::move(current);
  if (capped > 0 && (!last_cap_warning_ || now - *last_cap_warning_ >= kCapWarningInterval)) {
    last_cap_warning_ = now;
    spdlog::warn(
        "{} address{} over the cap (max_entries {}, max_entries_per_interface {}) not proxied, "
        "e.g. {} on {}",
        capped, capped == 1 ? "" : "es", config.max_entries, config.max_entries_per_interface,
        first_capped->address.to_string(), name(first_capped->ifindex));
  }
  if (!scope.is_everything()) return std::nullopt;
  return capped;
}

void RefusalLog::log_missing_uplinks(const Decision& decision) {
  if (decision.missing_uplinks == warned_missing_) return;
  for (const auto& name : decision.missing_uplinks) {
    spdlog::warn("uplink {}: configured but not present (a typo?); nothing is proxied on it", name);
  }
  warned_missing_ = decision.missing_uplinks;
}

void RefusalLog::log_uplinks(const Decision& decision, const std::vector<SysctlState>& sysctls) {
  std::set<std::string> slaac;
  for (const auto& uplink : decision.uplinks) {
    if (uplink.source != UplinkSource::kSlaac) {
      if (noted_slaac_.contains(uplink.name) && uplink.source == UplinkSource::kDefaultRoute) {
        spdlog::info("uplink {}: its default route is back", uplink.name);
      }
      continue;
    }
    slaac.insert(uplink.name);
    if (!noted_slaac_.contains(uplink.name)) {
      spdlog::warn("{}", uplink_note(uplink, sysctls, false));
    }
  }
  noted_slaac_ = std::move(slaac);
  if (decision.uplink_candidates == warned_candidates_) return;
  if (!decision.uplink_candidates.empty()) {
    spdlog::warn("no uplink: {}", UplinkSearch{decision.uplink_candidates}.message());
  }
  warned_candidates_ = decision.uplink_candidates;
}

std::string removal_reason(const Decision& decision, const std::set<IfAddressKey>& withdrawn,
                           const ProxyEntry& entry) {
  const auto first = decision.skipped.lower_bound(
      {entry.address, std::numeric_limits<IfIndex>::min(), SkipReason::kLinkLocal});
  if (first != decision.skipped.end() && first->address == entry.address) {
    return std::string("now refused: ") + std::string(to_string(first->reason));
  }
  for (const auto& key : withdrawn) {
    if (key.second == entry.address) return "did not answer probes within the liveness timeout";
  }
  if (decision.uplink(entry.ifindex) == nullptr) return "no longer on an uplink";
  return "no longer present downstream";
}

}  // namespace ndpsync
