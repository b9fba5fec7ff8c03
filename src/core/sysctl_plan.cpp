#include "ndpsync/sysctl_plan.hpp"

#include <algorithm>

namespace ndpsync {
namespace {

constexpr std::uint8_t kProtocolRa = 9;  // RTPROT_RA: learned from a router advertisement

SysctlKey conf(const std::string& iface, const char* name) {
  return {SysctlKey::Tree::kConf, iface, name};
}

bool is_uplink(const std::vector<Uplink>& uplinks, const std::string& name) {
  return std::any_of(uplinks.begin(), uplinks.end(),
                     [&name](const Uplink& u) { return u.name == name; });
}

std::vector<SysctlBlocker> blockers_of(const std::vector<Uplink>& uplinks,
                                       const std::vector<std::string>& ra_holders,
                                       const std::map<SysctlKey, std::string>& current) {
  std::vector<SysctlBlocker> blockers;
  for (const auto& name : ra_holders) {
    if (is_uplink(uplinks, name)) continue;  // settled by its own accept_ra write
    const auto it = current.find(conf(name, "accept_ra"));
    // accept_ra=0 takes no RA: its RA route is a leftover that expires anyway.
    if (it == current.end() || it->second == "1") {
      blockers.push_back({name, it == current.end() ? "" : it->second});
    }
  }
  return blockers;
}

// An uplink whose network manager takes the RAs (accept_ra 0) and holds its default route: 2
// across the forwarding writes, so that the kernel keeps the manager's route, then 0 again.
void hold_manager_routes(std::vector<SysctlWrite>& writes, const std::vector<Uplink>& uplinks,
                         const std::vector<std::string>& ra_holders,
                         const std::map<SysctlKey, std::string>& current) {
  const auto is_forwarding = [](const SysctlWrite& w) { return w.key.name == "forwarding"; };
  if (std::none_of(writes.begin(), writes.end(), is_forwarding)) return;
  std::vector<SysctlWrite> settle;
  std::vector<SysctlWrite> restore;
  for (const auto& uplink : uplinks) {
    auto key = conf(uplink.name, "accept_ra");
    const auto it = current.find(key);
    if (it == current.end() || it->second != "0" ||
        std::find(ra_holders.begin(), ra_holders.end(), uplink.name) == ra_holders.end()) {
      continue;
    }
    settle.push_back({key, "2",
                      "keep the network manager's RA default route while forwarding is turned on",
                      SysctlStage::kSettle});
    restore.push_back({std::move(key), "0",
                       "held at 2 while forwarding was turned on, which drops the RA default "
                       "route where accept_ra is not 2; 0 again for the network manager that "
                       "takes the RAs",
                       SysctlStage::kRestore});
  }
  const auto after = std::find_if(writes.rbegin(), writes.rend(), is_forwarding).base();
  writes.insert(after, restore.begin(), restore.end());
  writes.insert(writes.begin(), settle.begin(), settle.end());
}

}  // namespace

std::string SysctlKey::to_string() const {
  return std::string("net.ipv6.") + (tree == Tree::kConf ? "conf." : "neigh.") + iface + "." + name;
}

std::string SysctlBlocker::message() const {
  return "interface " + iface + " holds the host's RA-learned default route and its accept_ra is " +
         (accept_ra.empty() ? "unreadable" : accept_ra) +
         ": forwarding=1 would drop that route, so the global sysctls (all.proxy_ndp, "
         "forwarding) were not written. Make " +
         iface + " an uplink (--uplink " + iface +
         ", or \"uplinks\" in the config) if it is one, " + "or set net.ipv6.conf." + iface +
         ".accept_ra=2";
}

std::vector<std::string> ra_default_holders(const ObservedState& observed) {
  std::vector<std::string> names;
  for (const auto& [key, route] : observed.routes()) {
    if (!route.is_default() || route.protocol != kProtocolRa) continue;
    if (const auto* link = observed.link(route.oif)) names.push_back(link->name);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

// In the order plan_sysctls writes them, so that reports read in that order too.
std::vector<SysctlKey> sysctl_keys(const Config& config, const std::vector<Uplink>& uplinks) {
  std::vector<SysctlKey> keys;
  keys.reserve(2 + uplinks.size() * 4);
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

std::vector<SysctlKey> holder_keys(const std::vector<Uplink>& uplinks,
                                   const std::vector<std::string>& ra_holders) {
  std::vector<SysctlKey> keys;
  for (const auto& name : ra_holders) {
    if (!is_uplink(uplinks, name)) keys.push_back(conf(name, "accept_ra"));
  }
  return keys;
}

SysctlPlan plan_sysctls(const Config& config, const std::vector<Uplink>& uplinks,
                        const std::vector<std::string>& ra_holders,
                        const std::map<SysctlKey, std::string>& current) {
  SysctlPlan plan;
  if (!config.manage_sysctls || uplinks.empty()) {
    return plan;  // without an uplink there is nothing to answer for
  }
  auto& writes = plan.writes;
  const auto want = [&](SysctlKey key, const std::string& value, const char* reason,
                        SysctlStage stage) {
    const auto it = current.find(key);
    if (it == current.end() || it->second != value) {
      writes.push_back({std::move(key), value, reason, stage});
    }
  };
  // 1. Before anything turns forwarding on: accept_ra=2 keeps an uplink's RA default route.
  for (const auto& uplink : uplinks) {
    const auto key = conf(uplink.name, "accept_ra");
    if (const auto it = current.find(key); it != current.end() && it->second == "1") {
      writes.push_back(
          {key, "2", "keep the RA default route once forwarding is on", SysctlStage::kSettle});
    }
  }
  // 2. all.proxy_ndp: unicast NS reach NDISC only through ip6_forward, which checks it.
  want(conf("all", "proxy_ndp"), "1", "answer the router's unicast NS", SysctlStage::kGlobal);
  for (const auto& uplink : uplinks) {
    want(conf(uplink.name, "proxy_ndp"), "1", "answer NS for proxied addresses on the uplink",
         SysctlStage::kLocal);
  }
  // 3. Forwarding last. all.forwarding also sets every interface and the default.
  want(conf("all", "forwarding"), "1", "forward to the containers", SysctlStage::kGlobal);
  for (const auto& uplink : uplinks) {
    want(conf(uplink.name, "forwarding"), "1", "NS are answered only where forwarding is on",
         SysctlStage::kGlobal);
  }
  // 4. proxy_delay is in USER_HZ (1/100 s). One proxy on the link gains nothing from the delay.
  if (config.proxy_delay_ms) {
    const auto ticks = std::to_string((*config.proxy_delay_ms + 9) / 10);
    for (const auto& uplink : uplinks) {
      want({SysctlKey::Tree::kNeigh, uplink.name, "proxy_delay"}, ticks,
           "answer multicast NS without a random delay", SysctlStage::kLocal);
    }
  }
  // 5. An interface that would lose the host's RA default route holds the global set back.
  const bool global = std::any_of(writes.begin(), writes.end(), [](const SysctlWrite& w) {
    return w.stage == SysctlStage::kGlobal;
  });
  if (global) {
    plan.blockers = blockers_of(uplinks, ra_holders, current);
    if (!plan.blockers.empty()) {
      std::erase_if(writes, [](const SysctlWrite& w) { return w.stage == SysctlStage::kGlobal; });
    }
  }
  // 6. An uplink whose network manager takes the RAs keeps the manager's route.
  hold_manager_routes(writes, uplinks, ra_holders, current);
  return plan;
}

}  // namespace ndpsync
