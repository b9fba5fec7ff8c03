#include "ndpsync/reconcile.hpp"

namespace ndpsync {

Plan reconcile(const Decision& decision, const ProxyTable& installed, std::uint8_t owner) {
  Plan plan;
  for (const auto& [key, desired] : decision.desired) {
    const auto it = installed.find(key);
    if (it == installed.end()) {
      plan.add.push_back(desired.entry);
    } else if (it->second == owner) {
      plan.keep.push_back(proxy_entry(*it));
    }
    // A foreign entry at the key is never in a plan; policy reported it already.
  }
  if (decision.uplinks.empty()) {
    return plan;
  }
  for (const auto& item : installed) {
    const auto& [key, protocol] = item;
    if (protocol != owner || decision.desired.contains(key)) {
      continue;
    }
    const auto* uplink = decision.uplink(key.first);
    if (uplink != nullptr && uplink->held()) {
      continue;
    }
    plan.remove.push_back(proxy_entry(item));
  }
  return plan;
}

Plan reconcile(const Decision& decision, const ProxyTable& installed, std::uint8_t owner,
               const std::set<Ipv6Address>& addresses) {
  Plan plan;
  for (const auto& address : addresses) {
    for (const auto& uplink : decision.uplinks) {
      const IfAddressKey key{uplink.index, address};
      const auto want = decision.desired.find(key);
      const auto have = installed.find(key);
      if (want != decision.desired.end()) {
        if (have == installed.end()) {
          plan.add.push_back(want->second.entry);
        } else if (have->second == owner) {
          plan.keep.push_back(proxy_entry(*have));
        }
      } else if (have != installed.end() && have->second == owner && !uplink.held()) {
        plan.remove.push_back(proxy_entry(*have));
      }
    }
  }
  return plan;
}

}  // namespace ndpsync
