#include "ndpsync/refusal_log.hpp"

#include <spdlog/spdlog.h>

#include <limits>

#include "ndpsync/report.hpp"

namespace ndpsync {
namespace {

constexpr auto kCapWarningInterval = std::chrono::seconds(60);

// "; MACs over max_entries_per_mac: 02:..:01 on br0 (936 refused), ...": the first few, so
// that the warning names the tenant without growing with a flood of MACs.
template <typename Name>
std::string macs_over_cap(const Decision& decision, const Name& name) {
  constexpr std::size_t kShown = 4;
  if (decision.capped_macs.empty()) return "";
  std::string text = "; MACs over max_entries_per_mac:";
  std::size_t shown = 0;
  for (const auto& [key, refused] : decision.capped_macs) {
    if (shown++ == kShown) {
      text += " and " + std::to_string(decision.capped_macs.size() - kShown) + " more";
      break;
    }
    text += (shown == 1 ? " " : ", ") + key.second.to_string() + " on " + name(key.first) + " (" +
            std::to_string(refused) + " refused)";
  }
  return text;
}

}  // namespace

std::optional<CapCounts> RefusalLog::log(const Decision& decision, const ObservedState& observed,
                                         const Config& config, const Scope& scope, SteadyTime now) {
  std::set<Skipped> current;
  if (!scope.is_everything()) {
    // Incremental: the refusals of other addresses stand as they were.
    current = logged_;
    std::erase_if(current, [&](const Skipped& s) { return scope.addresses().contains(s.address); });
  }
  const auto name = [&observed](IfIndex index) {
    if (index == 0) return std::string("the static list");
    return interface_name(observed.link(index), index);
  };
  CapCounts counts;
  const Skipped* first_capped = nullptr;
  for_each_skipped(decision, scope, [&](const Skipped& s) {
    // A flooding container can hit a cap thousands of times: summarised below, not listed.
    if (s.reason == SkipReason::kCap || s.reason == SkipReason::kCapMac) {
      if (first_capped == nullptr) first_capped = &s;
      ++counts.capped;
      if (s.reason == SkipReason::kCapMac) ++counts.capped_mac;
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
  if (counts.capped > 0 &&
      (!last_cap_warning_ || now - *last_cap_warning_ >= kCapWarningInterval)) {
    last_cap_warning_ = now;
    spdlog::warn(
        "{} address{} over the cap (max_entries {}, max_entries_per_interface {}, "
        "max_entries_per_mac {}) not proxied, e.g. {} on {} ({}){}",
        counts.capped, counts.capped == 1 ? "" : "es", config.max_entries,
        config.max_entries_per_interface, config.max_entries_per_mac,
        first_capped->address.to_string(), name(first_capped->ifindex),
        to_string(first_capped->reason), macs_over_cap(decision, name));
  }
  if (!scope.is_everything()) return std::nullopt;
  return counts;
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
