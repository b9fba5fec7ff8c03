#include "ndpsync/policy.hpp"

#include <algorithm>
#include <limits>

namespace ndpsync {
namespace {

constexpr std::uint32_t kMainTable = 254;

bool is_unicast_global(const Ipv6Address& address) {
  return !address.is_unspecified() && !address.is_loopback() && !address.is_multicast() &&
         !address.is_link_local();
}

void add_unique(std::vector<Prefix>& prefixes, const Prefix& prefix) {
  if (std::find(prefixes.begin(), prefixes.end(), prefix) == prefixes.end()) {
    prefixes.push_back(prefix);
  }
}

// The on-link prefixes of the uplink's global addresses. An address with a /128 (DHCPv6 IA_NA)
// takes its prefix from the on-link route that covers it.
std::vector<Prefix> detect_prefixes(const ObservedState& observed, IfIndex uplink) {
  std::vector<Prefix> prefixes;
  std::vector<Ipv6Address> own;
  for (const auto& [key, address] : observed.addresses()) {
    if (key.first != uplink || !is_unicast_global(address.address) ||
        (address.flags & kAddrDadFailed) != 0) {
      continue;
    }
    own.push_back(address.address);
    if (address.prefix_length > 0 && address.prefix_length < 128) {
      add_unique(prefixes, Prefix(address.address, address.prefix_length));
    }
  }
  for (const auto& [key, route] : observed.routes()) {
    const auto length = route.destination.length();
    if (route.oif != uplink || route.gateway || length == 0 || length == 128 ||
        route.table != kMainTable || !is_unicast_global(route.destination.network())) {
      continue;
    }
    const auto& destination = route.destination;  // clang 14 cannot capture a binding
    const bool covers_own = std::any_of(
        own.begin(), own.end(), [&](const Ipv6Address& a) { return destination.contains(a); });
    if (covers_own) {
      add_unique(prefixes, route.destination);
    }
  }
  std::sort(prefixes.begin(), prefixes.end());
  return prefixes;
}

std::vector<Uplink> select_uplinks(const Config& config, const ObservedState& observed,
                                   const Memory& memory, std::vector<std::string>& missing) {
  std::vector<IfIndex> indexes;
  if (!config.uplinks.empty()) {
    for (const auto& name : config.uplinks) {
      if (const auto* link = observed.link_by_name(name)) {
        indexes.push_back(link->index);
      } else {
        missing.push_back(name);
      }
    }
  } else {
    for (const auto& [key, route] : observed.routes()) {
      if (route.is_default() && route.table == kMainTable && route.oif != 0) {
        indexes.push_back(route.oif);
      }
    }
    if (indexes.empty()) {
      for (const auto& name : memory.uplinks) {
        if (const auto* link = observed.link_by_name(name)) indexes.push_back(link->index);
      }
    }
  }
  std::sort(indexes.begin(), indexes.end());
  indexes.erase(std::unique(indexes.begin(), indexes.end()), indexes.end());

  std::vector<Uplink> uplinks;
  for (const auto index : indexes) {
    const auto* link = observed.link(index);
    if (link == nullptr) {
      continue;
    }
    Uplink uplink{.index = index, .name = link->name, .prefixes = config.prefixes};
    if (uplink.prefixes.empty()) {
      uplink.prefixes = detect_prefixes(observed, index);
    }
    if (const auto it = memory.prefixes.find(link->name);
        uplink.prefixes.empty() && it != memory.prefixes.end()) {
      uplink.prefixes = it->second;
      uplink.remembered = true;
    }
    uplinks.push_back(std::move(uplink));
  }
  return uplinks;
}

// Downstream by default: veths, bridges and lo; never an uplink, a bridge port (its addresses and
// neighbours live on the bridge), or anything that shares a master with an uplink.
std::vector<IfIndex> select_downstream(const Config& config, const ObservedState& observed,
                                       const Memory& memory, const std::vector<Uplink>& uplinks) {
  std::set<IfIndex> excluded;
  for (const auto& uplink : uplinks) {
    excluded.insert(uplink.index);
    if (const auto* link = observed.link(uplink.index); link != nullptr && link->master != 0) {
      excluded.insert(link->master);
    }
  }
  // Named and remembered uplinks are never downstream, even while they are not uplinks.
  for (const auto& [index, link] : observed.links()) {
    if (std::find(config.uplinks.begin(), config.uplinks.end(), link.name) !=
            config.uplinks.end() ||
        memory.uplinks.contains(link.name)) {
      excluded.insert(index);
    }
  }
  std::vector<IfIndex> downstream;
  for (const auto& [index, link] : observed.links()) {
    if (excluded.contains(index) || excluded.contains(link.master)) {
      continue;
    }
    bool selected = false;
    if (!config.downstream.empty()) {
      selected = matches_any(config.downstream, link.name);
    } else {
      const auto* master = observed.link(link.master);
      const bool bridge_port = master != nullptr && master->kind == "bridge";
      selected = !bridge_port && (link.loopback || link.kind == "veth" || link.kind == "bridge");
    }
    if (selected) {
      downstream.push_back(index);
    }
  }
  return downstream;
}

struct Candidate {
  Ipv6Address address;
  IfIndex ifindex = 0;
  Source source = Source::kAddress;
  std::uint32_t flags = 0;
};

// An uplink neighbour is a router, another node using the address, or (with the uplink's own
// MAC) the host itself.
enum class UplinkRole : std::uint8_t { kNone, kRouter, kNode };
UplinkRole role_of(const ObservedState& observed, IfIndex uplink, const NeighbourInfo& neighbour) {
  if (neighbour.router) return UplinkRole::kRouter;
  if (!neighbour.present()) return UplinkRole::kNone;
  const auto* link = observed.link(uplink);
  return link == nullptr || neighbour.lladdr != link->mac ? UplinkRole::kNode : UplinkRole::kNone;
}

// The uplink side of the world: what the host must never claim.
UplinkSide observe_uplinks(const ObservedState& observed, const std::vector<Uplink>& uplinks) {
  UplinkSide side;
  std::set<IfIndex> up;
  for (const auto& uplink : uplinks) {
    up.insert(uplink.index);
  }
  for (const auto& [key, address] : observed.addresses()) {
    if (up.contains(key.first)) {
      side.addresses.insert(address.address);
    }
  }
  for (const auto& [key, route] : observed.routes()) {
    if (up.contains(route.oif) && route.gateway) {
      side.routers.insert(*route.gateway);
    }
  }
  for (const auto& [key, neighbour] : observed.neighbours()) {
    // Link-local and multicast neighbours are refused by class anyway; leaving them out keeps
    // this equal to what refresh_uplink_side() maintains from events.
    if (!up.contains(key.first) || key.second.is_link_local() || key.second.is_multicast()) {
      continue;
    }
    switch (role_of(observed, key.first, neighbour)) {
      case UplinkRole::kRouter: side.routers.insert(key.second); break;
      case UplinkRole::kNode: side.neighbours.insert(key.second); break;
      case UplinkRole::kNone: break;
    }
  }
  return side;
}

std::optional<SkipReason> refuse(const Candidate& candidate, const UplinkSide& forbidden,
                                 const Config& config, const std::string& ifname,
                                 const std::vector<Uplink>& uplinks) {
  const auto& a = candidate.address;
  if (a.is_unspecified()) return SkipReason::kUnspecified;
  if (a.is_loopback()) return SkipReason::kLoopback;
  if (a.is_multicast()) return SkipReason::kMulticast;
  if (a.is_link_local()) return SkipReason::kLinkLocal;
  if ((candidate.flags & kAddrDadFailed) != 0) return SkipReason::kDadFailed;
  if (forbidden.addresses.contains(a)) return SkipReason::kUplinkAddress;
  if (forbidden.routers.contains(a)) return SkipReason::kUplinkRouter;
  if (forbidden.neighbours.contains(a)) return SkipReason::kUplinkNeighbour;
  const auto in = [&a](const Prefix& p) { return p.contains(a); };
  if (std::any_of(config.deny.begin(), config.deny.end(), in)) return SkipReason::kDenied;
  const bool in_prefix = std::any_of(uplinks.begin(), uplinks.end(), [&](const Uplink& u) {
    return std::any_of(u.prefixes.begin(), u.prefixes.end(), in);
  });
  if (!in_prefix) return SkipReason::kOutsidePrefix;
  for (const auto& [pattern, allowed] : config.interface_prefixes) {
    if (matches_any({pattern}, ifname) && std::none_of(allowed.begin(), allowed.end(), in)) {
      return SkipReason::kNotAllowed;
    }
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(Source source) {
  return source == Source::kAddress ? "address" : "neighbour";
}

std::string_view to_string(SkipReason reason) {
  switch (reason) {
    case SkipReason::kLinkLocal: return "link-local";
    case SkipReason::kMulticast: return "multicast";
    case SkipReason::kUnspecified: return "unspecified";
    case SkipReason::kLoopback: return "loopback";
    case SkipReason::kOutsidePrefix: return "outside-prefix";
    case SkipReason::kDenied: return "denied";
    case SkipReason::kUplinkAddress: return "uplink-address";
    case SkipReason::kUplinkRouter: return "uplink-router";
    case SkipReason::kUplinkNeighbour: return "uplink-neighbour";
    case SkipReason::kNotAllowed: return "not-allowed";
    case SkipReason::kDadFailed: return "dad-failed";
    case SkipReason::kCap: return "cap";
    case SkipReason::kForeign: return "foreign";
  }
  return "unknown";
}

const Uplink* Decision::uplink(IfIndex index) const {
  const auto it = std::find_if(uplinks.begin(), uplinks.end(),
                               [index](const Uplink& u) { return u.index == index; });
  return it == uplinks.end() ? nullptr : &*it;
}

const Desired* Decision::claim(const Ipv6Address& address) const {
  for (const auto& u : uplinks) {
    if (const auto it = desired.find({u.index, address}); it != desired.end()) return &it->second;
  }
  return nullptr;
}

bool Decision::judged() const {
  return std::any_of(uplinks.begin(), uplinks.end(),
                     [](const Uplink& u) { return !u.prefixes.empty(); });
}

namespace {

bool alive(const NeighbourInfo& neighbour, const IfAddressKey& key, const LivenessView& liveness) {
  // The kernel keeps NOARP entries for the multicast groups it joined: no node claims those.
  return (neighbour.present() || liveness.held.contains(key)) &&
         !liveness.withdrawn.contains(key) && !key.second.is_multicast();
}

// Judges the candidates of one address, in the order decide() meets them: the first acceptable
// source wins. Appends what is eligible (one Desired per covering uplink) and records refusals.
void judge(const std::vector<Candidate>& candidates, const Decision& decision, const Config& config,
           const ObservedState& observed, std::set<Skipped>& skipped, std::set<Ipv6Address>& taken,
           std::vector<Desired>& eligible) {
  for (const auto& candidate : candidates) {
    const auto* link = observed.link(candidate.ifindex);
    const std::string ifname = link != nullptr ? link->name : std::string();
    if (const auto reason =
            refuse(candidate, decision.uplink_side, config, ifname, decision.uplinks)) {
      skipped.insert({candidate.address, candidate.ifindex, *reason});
      continue;
    }
    if (!taken.insert(candidate.address).second) {
      continue;
    }
    for (const auto& uplink : decision.uplinks) {
      const bool covered =
          std::any_of(uplink.prefixes.begin(), uplink.prefixes.end(),
                      [&](const Prefix& p) { return p.contains(candidate.address); });
      if (!covered) {
        continue;
      }
      const auto installed = observed.proxies().find({uplink.index, candidate.address});
      if (installed != observed.proxies().end() && installed->second != config.owner_protocol) {
        skipped.insert({candidate.address, candidate.ifindex, SkipReason::kForeign});
        continue;
      }
      eligible.push_back({.entry = {uplink.index, candidate.address, config.owner_protocol},
                          .source = candidate.source,
                          .source_ifindex = candidate.ifindex});
    }
  }
}

// Admits one eligible entry against the caps; false when a cap refuses it.
bool admit(Decision& decision, const Config& config, const Desired& desired) {
  const auto& address = desired.entry.address;
  if (decision.claim(address) == nullptr) {
    auto& count = decision.per_interface[desired.source_ifindex];
    if (decision.admitted >= config.max_entries || count >= config.max_entries_per_interface) {
      return false;
    }
    ++count;
    ++decision.admitted;
  }
  decision.desired[{desired.entry.ifindex, address}] = desired;
  return true;
}

}  // namespace

Decision decide(const Config& config, const ObservedState& observed, const LivenessView& liveness,
                const Memory& memory) {
  Decision decision;
  decision.uplinks = select_uplinks(config, observed, memory, decision.missing_uplinks);
  decision.downstream = select_downstream(config, observed, memory, decision.uplinks);
  if (!decision.judged()) {
    return decision;  // nothing can be judged, and nothing is removed: see reconcile()
  }
  const std::set<IfIndex> downstream(decision.downstream.begin(), decision.downstream.end());

  // Candidates in a stable order; an address is taken once, from its first source.
  std::vector<Candidate> candidates;
  for (const auto& [key, address] : observed.addresses()) {
    if (downstream.contains(key.first)) {
      candidates.push_back({address.address, key.first, Source::kAddress, address.flags});
    }
  }
  for (const auto& [key, neighbour] : observed.neighbours()) {
    if (downstream.contains(key.first) && alive(neighbour, key, liveness)) {
      candidates.push_back({key.second, key.first, Source::kNeighbour, 0});
    }
  }
  for (const auto& key : liveness.held) {
    if (downstream.contains(key.first) && !observed.neighbours().contains(key)) {
      candidates.push_back({key.second, key.first, Source::kNeighbour, 0});
    }
  }

  decision.uplink_side = observe_uplinks(observed, decision.uplinks);
  std::set<Ipv6Address> taken;
  std::vector<Desired> eligible;
  judge(candidates, decision, config, observed, decision.skipped, taken, eligible);

  // Caps: what is installed already keeps its place; newcomers queue behind it.
  std::stable_partition(eligible.begin(), eligible.end(), [&](const Desired& d) {
    return observed.proxies().contains({d.entry.ifindex, d.entry.address});
  });
  for (const auto& desired : eligible) {
    if (!admit(decision, config, desired)) {
      decision.skipped.insert({desired.entry.address, desired.source_ifindex, SkipReason::kCap});
      decision.capped = true;
    }
  }

  for (const auto& item : observed.proxies()) {
    if (item.second != config.owner_protocol && decision.uplink(item.first.first) != nullptr) {
      decision.foreign.push_back(proxy_entry(item));
    }
  }
  return decision;
}

void refresh_uplink_side(Decision& decision, const ObservedState& observed,
                         const Ipv6Address& address) {
  // A gateway of a route on an uplink is a router (routes are few, and change rarely).
  bool router = std::any_of(observed.routes().begin(), observed.routes().end(), [&](const auto& r) {
    return r.second.gateway == address && decision.uplink(r.second.oif) != nullptr;
  });
  bool node = false;
  for (const auto& uplink : decision.uplinks) {
    if (const auto it = observed.neighbours().find({uplink.index, address});
        it != observed.neighbours().end()) {
      const auto role = role_of(observed, uplink.index, it->second);
      router = router || role == UplinkRole::kRouter;
      node = node || role == UplinkRole::kNode;
    }
  }
  auto& side = decision.uplink_side;
  if (router) {
    side.routers.insert(address);
  } else {
    side.routers.erase(address);
  }
  if (node) {
    side.neighbours.insert(address);
  } else {
    side.neighbours.erase(address);
  }
}

bool redecide(Decision& decision, const Config& config, const ObservedState& observed,
              const LivenessView& liveness, const std::set<Ipv6Address>& addresses) {
  if (decision.capped) {
    return false;
  }
  if (!decision.judged()) {
    return true;  // still nothing to judge
  }
  for (const auto& address : addresses) {
    // Forget what was decided for the address...
    if (const auto* claim = decision.claim(address)) {
      --decision.per_interface[claim->source_ifindex];
      --decision.admitted;
    }
    for (const auto& uplink : decision.uplinks) {
      decision.desired.erase({uplink.index, address});
    }
    const auto first = decision.skipped.lower_bound(
        {address, std::numeric_limits<IfIndex>::min(), SkipReason::kLinkLocal});
    auto last = first;
    while (last != decision.skipped.end() && last->address == address) ++last;
    decision.skipped.erase(first, last);

    // ...and judge it again from its sources, in decide()'s order.
    std::vector<Candidate> candidates;
    for (const auto index : decision.downstream) {
      if (const auto it = observed.addresses().find({index, address});
          it != observed.addresses().end()) {
        candidates.push_back({address, index, Source::kAddress, it->second.flags});
      }
    }
    for (const auto index : decision.downstream) {
      const IfAddressKey key{index, address};
      if (const auto it = observed.neighbours().find(key);
          it != observed.neighbours().end() && alive(it->second, key, liveness)) {
        candidates.push_back({address, index, Source::kNeighbour, 0});
      }
    }
    for (const auto index : decision.downstream) {
      const IfAddressKey key{index, address};
      if (liveness.held.contains(key) && !observed.neighbours().contains(key)) {
        candidates.push_back({address, index, Source::kNeighbour, 0});
      }
    }
    std::set<Ipv6Address> taken;
    std::vector<Desired> eligible;
    judge(candidates, decision, config, observed, decision.skipped, taken, eligible);
    for (const auto& desired : eligible) {
      if (!admit(decision, config, desired)) {
        return false;
      }
    }
  }
  return true;
}

}  // namespace ndpsync
