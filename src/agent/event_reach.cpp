#include "event_reach.hpp"

#include <algorithm>
#include <type_traits>

namespace ndpsync {

EventReach classify(const Decision& d, const KernelEvent& event) {
  const auto downstream = [&d](IfIndex index) {
    return std::binary_search(d.downstream.begin(), d.downstream.end(), index);
  };
  // Without an uplink, SLAAC's traces elsewhere (an address, an RA route, a router's neighbour
  // entry) may name one (find_slaac_uplink): judge the structure again. Rare, and cheap then.
  const auto searching = [&d, &downstream](IfIndex index) {
    return d.uplinks.empty() && !downstream(index);
  };
  return std::visit(
      [&](const auto& e) -> EventReach {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, NeighbourEvent>) {
          // On an uplink, link-local and multicast entries (the router's fe80 entry cycling
          // REACHABLE/STALE every few seconds) never change a decision: a candidate with such an
          // address is refused by class first. Multicast groups' NOARP entries never are
          // candidates.
          const auto& n = e.neighbour;
          const bool on_uplink = d.uplink(n.ifindex) != nullptr;
          EventReach reach{.structural = n.router && searching(n.ifindex)};
          if (n.address.is_multicast() || (on_uplink && n.address.is_link_local())) return reach;
          if (on_uplink || downstream(n.ifindex)) reach.touched = n.address;
          return reach;
        } else if constexpr (std::is_same_v<E, AddressEvent>) {
          const auto index = e.address.ifindex;
          if (d.uplink(index) != nullptr || searching(index)) return {.structural = true};
          if (downstream(index)) return {.touched = e.address.address};
          return {};
        } else if constexpr (std::is_same_v<E, RouteEvent>) {
          // Default routes pick the uplinks; routes on an uplink give prefixes and routers.
          const auto& r = e.route;
          if (r.is_default() || d.uplink(r.oif) != nullptr || searching(r.oif)) {
            return {.structural = true};
          }
          // A /128 into a downstream interface (a routed NIC) is one address's source.
          if (is_host_route(r) && downstream(r.oif)) return {.touched = r.destination.network()};
          return {};
        } else {
          return {.structural = true};  // links, proxy entries, netconf
        }
      },
      event);
}

std::optional<IfIndex> changed_link(const KernelEvent& event) {
  if (const auto* e = std::get_if<LinkEvent>(&event)) {
    return e->link.master != 0 ? e->link.master : e->link.index;
  }
  if (const auto* e = std::get_if<AddressEvent>(&event)) return e->address.ifindex;
  if (const auto* e = std::get_if<RouteEvent>(&event); e != nullptr && e->route.oif != 0) {
    return e->route.oif;
  }
  return std::nullopt;
}

}  // namespace ndpsync
