#include "ndpsync/reconcile.hpp"

namespace ndpsync {

namespace {

// The plan's verdict on one key: add what is wanted and missing, keep what is wanted and ours,
// remove what is ours and no longer wanted. A foreign entry is never in a plan (policy reported
// it already).
void plan_key(const Decision& decision, const ProxyTable& installed, std::uint8_t owner,
              const IfAddressKey& key, Plan& plan) {
  const auto want = decision.desired.find(key);
  const auto have = installed.find(key);
  if (want != decision.desired.end()) {
    if (have == installed.end()) {
      plan.add.push_back(want->second.entry);
    } else if (have->second == owner) {
      plan.keep.push_back(proxy_entry(*have));
    }
    return;
  }
  if (have == installed.end() || have->second != owner || decision.uplinks.empty()) return;
  if (const auto* uplink = decision.uplink(key.first); uplink != nullptr && uplink->held()) return;
  plan.remove.push_back(proxy_entry(*have));
}

}  // namespace

Plan reconcile(const Decision& decision, const ProxyTable& installed, std::uint8_t owner,
               const Scope& scope) {
  Plan plan;
  if (!scope.is_everything()) {
    for (const auto& address : scope.addresses()) {
      for (const auto& uplink : decision.uplinks) {
        plan_key(decision, installed, owner, {uplink.index, address}, plan);
      }
    }
    return plan;
  }
  // Every key either side holds, once: both maps are sorted by key.
  auto want = decision.desired.begin();
  auto have = installed.begin();
  while (want != decision.desired.end() || have != installed.end()) {
    const bool take_want =
        have == installed.end() || (want != decision.desired.end() && want->first <= have->first);
    const auto key = take_want ? want->first : have->first;
    plan_key(decision, installed, owner, key, plan);
    if (want != decision.desired.end() && want->first == key) ++want;
    if (have != installed.end() && have->first == key) ++have;
  }
  return plan;
}

namespace {

SysctlKey conf(const std::string& iface, const char* name) {
  return {SysctlKey::Tree::kConf, iface, name};
}

}  // namespace

// In the order plan_sysctls writes them, so that reports read in that order too.
std::vector<SysctlKey> sysctl_keys(const Config& config, const std::vector<Uplink>& uplinks) {
  std::vector<SysctlKey> keys;
  for (const auto& uplink : uplinks) keys.push_back(conf(uplink.name, "accept_ra"));
  keys.push_back(conf("all", "proxy_ndp"));
  for (const auto& uplink : uplinks) keys.push_back(conf(uplink.name, "proxy_ndp"));
  keys.push_back(conf("all", "forwarding"));
  for (const auto& uplink : uplinks) keys.push_back(conf(uplink.name, "forwarding"));
  if (config.proxy_delay_ms) {
    for (const auto& uplink : uplinks) {
      keys.push_back({SysctlKey::Tree::kNeigh, uplink.name, "proxy_delay"});
    }
  }
  return keys;
}

std::vector<SysctlWrite> plan_sysctls(const Config& config, const std::vector<Uplink>& uplinks,
                                      const std::map<SysctlKey, std::string>& current) {
  std::vector<SysctlWrite> writes;
  if (!config.manage_sysctls) {
    return writes;
  }
  const auto want = [&](SysctlKey key, const std::string& value, const char* reason) {
    const auto it = current.find(key);
    if (it == current.end() || it->second != value) {
      writes.push_back({std::move(key), value, reason});
    }
  };
  // 1. Before anything turns forwarding on: forwarding=1 purges RA-learned routes on every
  //    interface whose accept_ra is not 2.
  for (const auto& uplink : uplinks) {
    const auto key = conf(uplink.name, "accept_ra");
    if (const auto it = current.find(key); it != current.end() && it->second == "1") {
      writes.push_back({key, "2", "keep the RA default route once forwarding is on"});
    }
  }
  // 2. all.proxy_ndp: unicast NS reach NDISC only through ip6_forward, which checks it.
  want(conf("all", "proxy_ndp"), "1", "answer the router's unicast NS");
  for (const auto& uplink : uplinks) {
    want(conf(uplink.name, "proxy_ndp"), "1", "answer NS for proxied addresses on the uplink");
  }
  // 3. Forwarding last. all.forwarding also sets every interface and the default.
  want(conf("all", "forwarding"), "1", "forward to the containers");
  for (const auto& uplink : uplinks) {
    want(conf(uplink.name, "forwarding"), "1", "NS are answered only where forwarding is on");
  }
  // 4. proxy_delay is in USER_HZ (1/100 s). One proxy on the link gains nothing from the delay.
  if (config.proxy_delay_ms) {
    const auto ticks = std::to_string((*config.proxy_delay_ms + 9) / 10);
    for (const auto& uplink : uplinks) {
      want({SysctlKey::Tree::kNeigh, uplink.name, "proxy_delay"}, ticks,
           "answer multicast NS without a random delay");
    }
  }
  return writes;
}

std::string SysctlKey::to_string() const {
  return std::string("net.ipv6.") + (tree == Tree::kConf ? "conf." : "neigh.") + iface + "." + name;
}

}  // namespace ndpsync
