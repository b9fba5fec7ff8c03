#include "ndpsync/decision_engine.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <optional>

#include "caps.hpp"
#include "topology.hpp"

namespace ndpsync {
namespace {

struct Candidate {
  Ipv6Address address;
  IfIndex ifindex = 0;
  Source source = Source::kAddress;
  std::uint32_t flags = 0;
  Rank rank = Rank::kAddress;
  // A static address: the uplinks the config names for it. nullptr: every uplink.
  const std::vector<std::string>* uplinks = nullptr;
  LinkAddress mac;  // a neighbour's, where max_entries_per_mac counts it (Desired::mac)
  // kProbe: a source no kernel table shows yet, which wins only by answering the probe that
  // follows it (DAD snooping, on-demand discovery): its holder counts as verified.
  enum class Evidence : std::uint8_t { kObserved, kProbe } evidence = Evidence::kObserved;
};

// Whether `candidate` may be claimed on `uplink`: a prefix of the uplink contains it, and a static
// address is claimed only on the uplinks the config names for it.
bool serves(const Uplink& uplink, const Candidate& candidate) {
  const auto& a = candidate.address;
  if (candidate.uplinks != nullptr &&
      std::find(candidate.uplinks->begin(), candidate.uplinks->end(), uplink.name) ==
          candidate.uplinks->end()) {
    return false;
  }
  return uplink.covers(a);
}

// What one address is on the uplinks, if anything. kOwn and kGateway come from the host's own
// configuration and routes; kRouter (the router's other addresses) and kNode come from the
// uplink's neighbour table, which any node on the provider's link can write (an NS with the
// address as its source plants a STALE entry; an NA with R=1 sets the router flag): claims, not
// facts. kRouter refuses every new claim, kNode only an unverified holder's; neither takes an
// address we already proxy.
enum class UplinkRole : std::uint8_t { kNone, kOwn, kGateway, kRouter, kNode };

// Everything one judging pass reads, looked up once per pass.
class World {
 public:
  World(const Config& config, const ObservedState& observed, const LivenessView& liveness,
        const Decision& decision)
      : config_(config), observed_(observed), liveness_(liveness), decision_(decision) {
    for (const auto& key : liveness.held) held_.emplace(key.second, key.first);
    for (const auto& [uplink, addresses] : config.static_addresses) {
      for (const auto& address : addresses) statics_[address].push_back(uplink);
    }
  }

  [[nodiscard]] bool downstream(IfIndex index) const {
    return std::binary_search(decision_.downstream.begin(), decision_.downstream.end(), index);
  }

  // Every source of `address`, in the order they compete for it: configured addresses first,
  // then host routes, live neighbours, neighbours liveness still holds (each by downstream
  // interface), and last the config's static list. The first acceptable one wins.
  template <typename Visit>
  void candidates_for(const Ipv6Address& address, Visit&& visit) const {
    for (const auto& [key, configured] : observed_.addresses_of(address)) {
      if (downstream(key.ifindex)) {
        visit(Candidate{address, key.ifindex, Source::kAddress, configured.flags});
      }
    }
    for (const auto& key : observed_.host_routes_of(address)) {
      if (downstream(key.ifindex)) visit(Candidate{address, key.ifindex, Source::kRoute});
    }
    for (const auto& [key, neighbour] : observed_.neighbours_of(address)) {
      if (downstream(key.ifindex) && alive(neighbour, key.if_key())) {
        visit(Candidate{address, key.ifindex, Source::kNeighbour, 0, Rank::kNeighbour, nullptr,
                        counted_mac(key.ifindex, neighbour)});
      }
    }
    const auto [first, last] = held_.equal_range(address);
    for (auto it = first; it != last; ++it) {
      const IfAddressKey key{it->second, address};
      if (downstream(key.first) && observed_.neighbour(key) == nullptr) {
        visit(Candidate{address, key.first, Source::kNeighbour, 0, Rank::kHeld});
      }
    }
    if (const auto it = statics_.find(address); it != statics_.end()) {
      visit(Candidate{.address = address, .source = Source::kStatic, .uplinks = &it->second});
    }
  }

  [[nodiscard]] UplinkRole uplink_role(const Ipv6Address& address) const {
    for (const auto& [key, configured] : observed_.addresses_of(address)) {
      if (decision_.uplink(key.ifindex) != nullptr) return UplinkRole::kOwn;
    }
    if (decision_.gateways.contains(address)) return UplinkRole::kGateway;
    switch (uplink_claim(observed_, decision_, address)) {
      case UplinkClaim::kRouter: return UplinkRole::kRouter;
      case UplinkClaim::kNode: return UplinkRole::kNode;
      case UplinkClaim::kNone: break;
    }
    return UplinkRole::kNone;
  }

  // Whether we proxy `address` already: liveness, not the uplink, decides when that ends.
  [[nodiscard]] bool established(const Ipv6Address& address) const {
    return std::any_of(decision_.uplinks.begin(), decision_.uplinks.end(), [&](const Uplink& u) {
      const auto installed = observed_.proxies().find({u.index, address});
      return installed != observed_.proxies().end() && installed->second == config_.owner_protocol;
    });
  }

  // Whether the downstream side has shown that `candidate` is held there, so that a claim read
  // from the uplink's neighbour table cannot take it away: the host's own configuration (an
  // address or a host route on a downstream interface), a neighbour the kernel has confirmed
  // (REACHABLE: it answered a probe or confirmed traffic, which nobody on the uplink can forge),
  // or an address we already proxy (liveness verifies its holder, and withdraws it if it left).
  // With uplink_probe_ms, the admin asked that a first claim yield to any node that answers on
  // the uplink: only an established claim stands then.
  [[nodiscard]] bool holder_verified(const Candidate& candidate) const {
    if (established(candidate.address)) return true;
    if (config_.uplink_probe.count() > 0) return false;
    if (candidate.evidence == Candidate::Evidence::kProbe) return true;
    switch (candidate.source) {
      case Source::kAddress:
      case Source::kRoute: return true;
      case Source::kStatic: return false;
      case Source::kNeighbour: break;
    }
    const auto* neighbour = observed_.neighbour({candidate.ifindex, candidate.address});
    return neighbour != nullptr && neighbour->state.in(kNudReachable);
  }

  [[nodiscard]] std::optional<SkipReason> refuse(const Candidate& candidate) const;
  [[nodiscard]] const std::multimap<Ipv6Address, IfIndex>& held() const { return held_; }
  [[nodiscard]] const std::map<Ipv6Address, std::vector<std::string>>& statics() const {
    return statics_;
  }

  // Judges one address: refusals go to `skipped`; the winning source gives one Desired per
  // uplink whose prefixes cover the address (or a foreign refusal where another owner has one).
  void judge(const Ipv6Address& address, std::vector<Skipped>& skipped,
             std::vector<Eligible>& eligible) const;

 private:
  [[nodiscard]] bool alive(const NeighbourInfo& neighbour, const IfAddressKey& key) const {
    // The kernel keeps NOARP entries for the multicast groups it joined: no node claims those.
    return (neighbour.present() || liveness_.held.contains(key)) &&
           !liveness_.withdrawn.contains(key) && !key.second.is_multicast();
  }

  // The MAC that max_entries_per_mac counts a neighbour under: none on a veth, whose one peer
  // the interface's own cap already bounds (a routed /112 there may hold many addresses). A held
  // neighbour the kernel no longer lists has none either: only claimed neighbours are held, and
  // each was admitted under its MAC before it went.
  [[nodiscard]] LinkAddress counted_mac(IfIndex index, const NeighbourInfo& neighbour) const {
    const auto* link = observed_.link(index);
    return link != nullptr && link->kind == "veth" ? LinkAddress() : neighbour.lladdr;
  }

  const Config& config_;
  const ObservedState& observed_;
  const LivenessView& liveness_;
  const Decision& decision_;
  std::multimap<Ipv6Address, IfIndex> held_;                 // liveness.held, address first
  std::map<Ipv6Address, std::vector<std::string>> statics_;  // config.static_addresses, inverted
};

std::optional<SkipReason> World::refuse(const Candidate& candidate) const {
  const auto& a = candidate.address;
  if (a.is_unspecified()) return SkipReason::kUnspecified;
  if (a.is_loopback()) return SkipReason::kLoopback;
  if (a.is_multicast()) return SkipReason::kMulticast;
  if (a.is_link_local()) return SkipReason::kLinkLocal;
  if ((candidate.flags & kAddrDadFailed) != 0) return SkipReason::kDadFailed;
  // The host's own addresses and its gateways are never claimed. What the uplink's neighbour
  // table says refuses only a claim whose holder downstream is not verified.
  switch (uplink_role(a)) {
    case UplinkRole::kOwn: return SkipReason::kUplinkAddress;
    case UplinkRole::kGateway: return SkipReason::kUplinkRouter;
    case UplinkRole::kRouter:
      if (!established(candidate.address)) return SkipReason::kUplinkRouter;
      break;
    case UplinkRole::kNode:
      if (!holder_verified(candidate)) return SkipReason::kUplinkNeighbour;
      break;
    case UplinkRole::kNone: break;
  }
  const auto in = [&a](const Prefix& p) { return p.contains(a); };
  if (std::any_of(config_.deny.begin(), config_.deny.end(), in)) return SkipReason::kDenied;
  const auto& uplinks = decision_.uplinks;
  const bool in_prefix = std::any_of(uplinks.begin(), uplinks.end(),
                                     [&](const Uplink& u) { return serves(u, candidate); });
  if (!in_prefix) return SkipReason::kOutsidePrefix;
  if (candidate.ifindex == 0) return std::nullopt;  // static: bound to no interface
  const auto* link = observed_.link(candidate.ifindex);
  const std::string ifname = link != nullptr ? link->name : std::string();
  for (const auto& [pattern, allowed] : config_.interface_prefixes) {
    if (matches_any({pattern}, ifname) && std::none_of(allowed.begin(), allowed.end(), in)) {
      return SkipReason::kNotAllowed;
    }
  }
  return std::nullopt;
}

void World::judge(const Ipv6Address& address, std::vector<Skipped>& skipped,
                  std::vector<Eligible>& eligible) const {
  bool taken = false;
  candidates_for(address, [&](const Candidate& candidate) {
    if (const auto reason = refuse(candidate)) {
      skipped.push_back({address, candidate.ifindex, *reason});
      return;
    }
    if (std::exchange(taken, true)) return;
    for (const auto& uplink : decision_.uplinks) {
      if (!serves(uplink, candidate)) continue;
      const auto installed = observed_.proxies().find({uplink.index, address});
      if (installed != observed_.proxies().end() && installed->second != config_.owner_protocol) {
        skipped.push_back({address, candidate.ifindex, SkipReason::kForeign});
        continue;
      }
      eligible.push_back({.key = {uplink.index, address},
                          .desired = {.source = candidate.source,
                                      .source_ifindex = candidate.ifindex,
                                      .mac = candidate.mac},
                          .rank = candidate.rank});
    }
  });
}

// One sorted sequence of a merge, and how to read its address.
template <typename Iterator, typename Key>
struct Cursor {
  Iterator it;
  Iterator end;
  Key key;
};
template <typename Iterator, typename Key>
Cursor(Iterator, Iterator, Key) -> Cursor<Iterator, Key>;

// Visits every address of the sorted sequences (addresses, host routes, neighbours, held
// neighbours, static addresses) in ascending order, each once: a merge with no copy of them.
template <typename Visit, typename... Cursors>
void merge_addresses(Visit&& visit, Cursors... cursors) {
  while (true) {
    std::optional<Ipv6Address> next;
    const auto lowest = [&next](const auto& c) {
      if (c.it != c.end && (!next || c.key(*c.it) < *next)) next = c.key(*c.it);
    };
    (lowest(cursors), ...);
    if (!next) return;
    visit(*next);
    const auto skip = [&next](auto& c) {
      while (c.it != c.end && c.key(*c.it) == *next) ++c.it;
    };
    (skip(cursors), ...);
  }
}

// Visits every address the kernel lists as an address, a host route, a neighbour or a held
// neighbour, and every static address, in ascending order, each once.
template <typename Visit>
void for_each_address(const ObservedState& observed,
                      const std::multimap<Ipv6Address, IfIndex>& held,
                      const std::map<Ipv6Address, std::vector<std::string>>& statics,
                      Visit&& visit) {
  const auto first = [](const auto& item) -> const Ipv6Address& { return item.first; };
  const auto source = [](const auto& item) -> const Ipv6Address& { return item.first.address; };
  const auto route = [](const SourceKey& key) -> const Ipv6Address& { return key.address; };
  merge_addresses(visit, Cursor{observed.addresses().begin(), observed.addresses().end(), source},
                  Cursor{observed.host_routes().begin(), observed.host_routes().end(), route},
                  Cursor{observed.neighbours().begin(), observed.neighbours().end(), source},
                  Cursor{held.begin(), held.end(), first},
                  Cursor{statics.begin(), statics.end(), first});
}

}  // namespace

std::optional<SkipReason> DecisionEngine::judge_new_source(const Config& config,
                                                           const ObservedState& observed,
                                                           const Ipv6Address& address,
                                                           IfIndex ifindex) const {
  const LivenessView none;
  const World world(config, observed, none, decision_);
  if (const auto reason = world.refuse(Candidate{.address = address,
                                                 .ifindex = ifindex,
                                                 .source = Source::kNeighbour,
                                                 .evidence = Candidate::Evidence::kProbe})) {
    return reason;
  }
  for (const auto& uplink : decision_.uplinks) {
    const auto installed = observed.proxies().find({uplink.index, address});
    if (installed != observed.proxies().end() && installed->second != config.owner_protocol) {
      return SkipReason::kForeign;
    }
  }
  if (at_cap(decision_, config, ifindex)) return SkipReason::kCap;
  return std::nullopt;
}

std::optional<IfIndex> DecisionEngine::downstream_for(const ObservedState& observed,
                                                      const Ipv6Address& target,
                                                      IfIndex uplink) const {
  const auto* serving = decision_.uplink(uplink);
  if (serving == nullptr || !serving->covers(target)) return std::nullopt;
  const Route* best = nullptr;
  for (const auto& [key, route] : observed.routes()) {
    if (route.table != 254 || route.gateway || route.oif == 0 ||
        !route.destination.contains(target)) {
      continue;
    }
    if (best == nullptr || route.destination.length() > best->destination.length()) best = &route;
  }
  if (best == nullptr) return std::nullopt;
  const auto& down = decision_.downstream;
  if (!std::binary_search(down.begin(), down.end(), best->oif)) return std::nullopt;
  return best->oif;
}

void DecisionEngine::full(const Config& config, const ObservedState& observed,
                          const LivenessView& liveness, const Memory& memory) {
  Decision decision;
  decision.uplinks = select_uplinks(config, observed, memory, decision.missing_uplinks,
                                    decision.uplink_candidates);
  decision.downstream = select_downstream(config, observed, memory, decision.uplinks);
  // Routes on an uplink change only with a full pass (a route event there is structural).
  for (const auto& [key, route] : observed.routes()) {
    if (route.gateway && decision.uplink(route.oif) != nullptr) {
      decision.gateways.insert(*route.gateway);
    }
  }
  if (decision.judged()) {
    const World world(config, observed, liveness, decision);
    std::vector<Skipped> skipped;
    std::vector<Eligible> eligible;
    for_each_address(observed, world.held(), world.statics(),
                     [&](const Ipv6Address& address) { world.judge(address, skipped, eligible); });
    decision.skipped.insert(skipped.begin(), skipped.end());
    admit_all(decision, config, eligible, observed.proxies());
    for (const auto& item : observed.proxies()) {
      if (item.second != config.owner_protocol && decision.uplink(item.first.first) != nullptr) {
        decision.foreign.push_back(proxy_entry(item));
      }
    }
  }
  decision_ = std::move(decision);
}

bool DecisionEngine::update(const Config& config, const ObservedState& observed,
                            const LivenessView& liveness, const std::set<Ipv6Address>& touched) {
  if (decision_.capped) return false;
  if (!decision_.judged()) return true;  // still nothing to judge
  // Judge first, without changing anything; check the caps on a copy of the counts.
  const World world(config, observed, liveness, decision_);
  std::vector<Skipped> skipped;
  std::vector<Eligible> eligible;
  for (const auto& address : touched) world.judge(address, skipped, eligible);
  if (!fits_caps(decision_, config, touched, eligible)) return false;
  // Then commit.
  for (const auto& address : touched) forget(decision_, address);
  for (const auto& e : eligible) (void)admit(decision_, config, e);
  decision_.skipped.insert(skipped.begin(), skipped.end());
  return true;
}

UplinkClaim uplink_claim(const ObservedState& observed, const Decision& decision,
                         const Ipv6Address& address) {
  // The router's other addresses (its global one) are learned gateways: entries at the MAC of a
  // gateway's entry on the same uplink (with the router flag, or not yet: an entry the router's
  // own NS left has none until the router answers a probe). A router flag at any other MAC is only
  // another node's claim (a forwarder's, or a forged NA's).
  const auto at_gateway = [&](IfIndex uplink, const NeighbourInfo& neighbour) {
    return std::any_of(decision.gateways.begin(), decision.gateways.end(), [&](const auto& gw) {
      const auto* entry = observed.neighbour({uplink, gw});
      return entry != nullptr && !entry->lladdr.empty() && entry->lladdr == neighbour.lladdr;
    });
  };
  bool node = false;
  for (const auto& [key, neighbour] : observed.neighbours_of(address)) {
    if (decision.uplink(key.ifindex) == nullptr) continue;
    if ((neighbour.router || neighbour.present()) && at_gateway(key.ifindex, neighbour)) {
      return UplinkClaim::kRouter;
    }
    node = node || neighbour.router ||
           (neighbour.present() && another_node(observed, key.ifindex, neighbour));
  }
  return node ? UplinkClaim::kNode : UplinkClaim::kNone;
}

bool another_node(const ObservedState& observed, IfIndex uplink, const NeighbourInfo& neighbour) {
  if (neighbour.router) return false;
  const auto* link = observed.link(uplink);
  return link == nullptr || neighbour.lladdr != link->mac;
}

}  // namespace ndpsync
