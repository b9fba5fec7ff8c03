#include "caps.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <tuple>

namespace ndpsync {
namespace {

template <typename Key>
std::size_t count_of(const std::map<Key, std::size_t>& counts, const Key& key) {
  const auto it = counts.find(key);
  return it == counts.end() ? 0 : it->second;
}

MacKey mac_key(const Desired& desired) { return {desired.source_ifindex, desired.mac}; }

}  // namespace

std::size_t mac_cap(const Config& config) {
  return std::min(config.max_entries_per_mac, config.max_entries_per_interface);
}

bool at_cap(const Decision& decision, const Config& config, IfIndex ifindex) {
  return decision.admitted >= config.max_entries ||
         count_of(decision.per_interface, ifindex) >= config.max_entries_per_interface;
}

std::optional<SkipReason> admit(Decision& decision, const Config& config,
                                const Eligible& eligible) {
  const auto& desired = eligible.desired;
  if (decision.claim(eligible.key.second) == nullptr) {
    const bool by_mac = !desired.mac.empty();
    if (by_mac && count_of(decision.per_mac, mac_key(desired)) >= mac_cap(config)) {
      return SkipReason::kCapMac;
    }
    if (at_cap(decision, config, desired.source_ifindex)) return SkipReason::kCap;
    ++decision.per_interface[desired.source_ifindex];
    ++decision.admitted;
    if (by_mac) ++decision.per_mac[mac_key(desired)];
  }
  decision.desired[eligible.key] = desired;
  return std::nullopt;
}

void admit_all(Decision& decision, const Config& config, std::vector<Eligible>& eligible,
               const ProxyTable& installed) {
  std::sort(eligible.begin(), eligible.end(), [](const Eligible& a, const Eligible& b) {
    return std::tie(a.rank, a.desired.source_ifindex, a.key.second, a.key.first) <
           std::tie(b.rank, b.desired.source_ifindex, b.key.second, b.key.first);
  });
  std::stable_partition(eligible.begin(), eligible.end(),
                        [&](const Eligible& e) { return installed.contains(e.key); });
  for (const auto& e : eligible) {
    const auto refused = admit(decision, config, e);
    if (!refused) continue;
    // An address covered by several uplinks is refused once per entry: count it once.
    const bool first =
        decision.skipped.insert({e.key.second, e.desired.source_ifindex, *refused}).second;
    if (*refused == SkipReason::kCap) {
      decision.capped = true;
    } else if (first) {
      ++decision.capped_macs[mac_key(e.desired)];
    }
  }
}

void forget(Decision& decision, const Ipv6Address& address) {
  if (const auto* claim = decision.claim(address)) {
    const auto count = decision.per_interface.find(claim->source_ifindex);
    if (--count->second == 0) decision.per_interface.erase(count);
    --decision.admitted;
    if (!claim->mac.empty()) {
      const auto mac = decision.per_mac.find(mac_key(*claim));
      if (--mac->second == 0) decision.per_mac.erase(mac);
    }
  }
  for (const auto& uplink : decision.uplinks) decision.desired.erase({uplink.index, address});
  const auto first = decision.skipped.lower_bound(
      {address, std::numeric_limits<IfIndex>::min(), SkipReason::kLinkLocal});
  auto last = first;
  while (last != decision.skipped.end() && last->address == address) ++last;
  decision.skipped.erase(first, last);
}

bool fits_caps(const Decision& decision, const Config& config, const std::set<Ipv6Address>& touched,
               const std::vector<Eligible>& eligible) {
  // Count on deltas, so that a host with many interfaces copies nothing per batch.
  auto admitted = decision.admitted;
  std::map<IfIndex, std::ptrdiff_t> delta;
  std::map<MacKey, std::ptrdiff_t> mac_delta;
  const auto contested = [&](const MacKey& key) { return decision.capped_macs.contains(key); };
  for (const auto& address : touched) {
    if (const auto* claim = decision.claim(address)) {
      --delta[claim->source_ifindex];
      --admitted;
      if (!claim->mac.empty() && contested(mac_key(*claim))) return false;
      if (!claim->mac.empty()) --mac_delta[mac_key(*claim)];
    }
    const auto s = decision.skipped.lower_bound(
        {address, std::numeric_limits<IfIndex>::min(), SkipReason::kLinkLocal});
    for (auto it = s; it != decision.skipped.end() && it->address == address; ++it) {
      if (it->reason == SkipReason::kCapMac) return false;
    }
  }
  const auto count_of_interface = [&](IfIndex index) {
    return static_cast<std::ptrdiff_t>(count_of(decision.per_interface, index)) + delta[index];
  };
  const auto mac_limit = static_cast<std::ptrdiff_t>(mac_cap(config));
  const auto interface_limit = static_cast<std::ptrdiff_t>(config.max_entries_per_interface);
  // One count per address: an address's entries (one per covering uplink) are adjacent.
  const Ipv6Address* counted = nullptr;
  for (const auto& e : eligible) {
    if (counted != nullptr && *counted == e.key.second) continue;
    counted = &e.key.second;
    const auto index = e.desired.source_ifindex;
    if (admitted >= config.max_entries || count_of_interface(index) >= interface_limit) {
      return false;
    }
    if (!e.desired.mac.empty()) {
      const auto key = mac_key(e.desired);
      const auto count = static_cast<std::ptrdiff_t>(count_of(decision.per_mac, key));
      if (contested(key) || count + mac_delta[key] >= mac_limit) return false;
      ++mac_delta[key];
    }
    ++delta[index];
    ++admitted;
  }
  return true;
}

}  // namespace ndpsync
