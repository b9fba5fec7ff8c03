#include "topology.hpp"

#include <algorithm>

namespace ndpsync {
namespace {

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
    if (key.ifindex != uplink || !is_unicast_global(address.address) ||
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

// The uplink on `link` with its prefixes: configured for it, shared, detected, or remembered.
Uplink make_uplink(const Config& config, const ObservedState& observed, const Memory& memory,
                   const Link& link, UplinkSource source, const UplinkSearch& search) {
  // An uplink's own prefixes take precedence over the shared ones (VLAN uplinks, each with
  // its /64): every address is then claimed only where its prefix is.
  const auto own = config.uplink_prefixes.find(link.name);
  Uplink uplink{.index = link.index,
                .name = link.name,
                .prefixes = own != config.uplink_prefixes.end() ? own->second : config.prefixes,
                .source = source};
  if (const auto* found = search.found(); found != nullptr && found->index == link.index) {
    uplink.source = UplinkSource::kSlaac;
    uplink.evidence = found->evidence;
  }
  if (uplink.prefixes.empty()) {
    uplink.prefixes = detect_prefixes(observed, link.index);
  }
  if (const auto it = memory.prefixes.find(link.name);
      uplink.prefixes.empty() && it != memory.prefixes.end()) {
    uplink.prefixes = it->second;
    uplink.remembered = true;
  }
  return uplink;
}

}  // namespace

std::vector<Uplink> select_uplinks(const Config& config, const ObservedState& observed,
                                   const Memory& memory, std::vector<std::string>& missing,
                                   std::vector<UplinkCandidate>& ambiguous) {
  std::vector<IfIndex> indexes;
  UplinkSource source = UplinkSource::kConfigured;
  UplinkSearch search;
  if (!config.uplinks.empty()) {
    for (const auto& name : config.uplinks) {
      if (const auto* link = observed.link_by_name(name)) {
        indexes.push_back(link->index);
      } else {
        missing.push_back(name);
      }
    }
  } else {
    source = UplinkSource::kDefaultRoute;
    for (const auto& [key, route] : observed.routes()) {
      if (route.is_default() && route.table == kMainTable && route.oif != 0) {
        indexes.push_back(route.oif);
      }
    }
    if (indexes.empty()) {
      // The route is gone. SLAAC's traces say where it was (a forwarding=1 from someone else
      // drops it while accept_ra is 1); an uplink remembered from its route wins over them,
      // since a re-created uplink has no addresses yet.
      search = find_slaac_uplink(config, observed);
      source = UplinkSource::kRemembered;
      for (const auto& name : memory.uplinks) {
        if (const auto* link = observed.link_by_name(name)) indexes.push_back(link->index);
      }
      if (indexes.empty() && search.found() != nullptr) {
        indexes.push_back(search.found()->index);
      } else if (indexes.empty() && search.ambiguous()) {
        ambiguous = search.candidates;
      }
    }
  }
  std::sort(indexes.begin(), indexes.end());
  indexes.erase(std::unique(indexes.begin(), indexes.end()), indexes.end());

  std::vector<Uplink> uplinks;
  for (const auto index : indexes) {
    if (const auto* link = observed.link(index); link != nullptr) {
      uplinks.push_back(make_uplink(config, observed, memory, *link, source, search));
    }
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

}  // namespace ndpsync
