#include "ndpsync/observed_state.hpp"

#include <algorithm>

namespace ndpsync {
namespace {

template <typename Map, typename Pred>
void erase_where(Map& map, Pred pred) {
  std::erase_if(map, [&](const auto& item) { return pred(item.first); });
}

// Adds, replaces or erases; true when the map changed.
template <typename Map>
bool upsert(Map& map, const typename Map::key_type& key, const typename Map::mapped_type& value,
            Change change) {
  if (change == Change::kDel) {
    return map.erase(key) > 0;
  }
  auto [it, inserted] = map.try_emplace(key, value);
  if (!inserted && it->second == value) {
    return false;
  }
  it->second = value;
  return true;
}

RouteKey key_of(const Route& route) {
  return {route.table, route.destination, route.oif, route.gateway};
}

}  // namespace

void ObservedState::replace(Snapshot snapshot) {
  links_.clear();
  addresses_.clear();
  neighbours_.clear();
  routes_.clear();
  host_routes_.clear();
  for (auto& link : snapshot.links) {
    links_[link.index] = std::move(link);
  }
  for (const auto& address : snapshot.addresses) {
    addresses_[{address.address, address.ifindex}] = address;
  }
  for (const auto& neighbour : snapshot.neighbours) {
    neighbours_[{neighbour.address, neighbour.ifindex}] = neighbour.info();
  }
  for (const auto& route : snapshot.routes) {
    routes_[key_of(route)] = route;
    if (is_host_route(route)) host_routes_.insert({route.destination.network(), route.oif});
  }
  replace_proxies(snapshot.proxies);
}

void ObservedState::replace_proxies(const std::vector<ProxyEntry>& proxies) {
  proxies_.clear();
  for (const auto& entry : proxies) {
    proxies_[{entry.ifindex, entry.address}] = entry.protocol;
  }
}

bool ObservedState::apply(const KernelEvent& event) {
  return std::visit(
      [this](const auto& e) -> bool {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, LinkEvent>) {
          return apply_link(e);
        } else if constexpr (std::is_same_v<E, AddressEvent>) {
          return apply_address(e);
        } else if constexpr (std::is_same_v<E, NeighbourEvent>) {
          return apply_neighbour(e);
        } else if constexpr (std::is_same_v<E, RouteEvent>) {
          return apply_route(e);
        } else if constexpr (std::is_same_v<E, ProxyEvent>) {
          return apply_proxy(e);
        } else {
          return false;  // a NetconfEvent: the sysctl keeper's, not part of the observed state
        }
      },
      event);
}

const Link* ObservedState::link(IfIndex index) const {
  const auto it = links_.find(index);
  return it == links_.end() ? nullptr : &it->second;
}

std::string ObservedState::link_name(IfIndex index) const {
  return interface_name(link(index), index);
}

const Address* ObservedState::address(const IfAddressKey& key) const {
  const auto it = addresses_.find(source_key(key));
  return it == addresses_.end() ? nullptr : &it->second;
}

const NeighbourInfo* ObservedState::neighbour(const IfAddressKey& key) const {
  const auto it = neighbours_.find(source_key(key));
  return it == neighbours_.end() ? nullptr : &it->second;
}

const Link* ObservedState::link_by_name(std::string_view name) const {
  for (const auto& [index, link] : links_) {
    if (link.name == name) {
      return &link;
    }
  }
  return nullptr;
}

bool ObservedState::apply_link(const LinkEvent& event) {
  const auto index = event.link.index;
  if (event.change == Change::kDel) {
    const bool known = links_.erase(index) > 0;
    forget_interface(index);
    return known;
  }
  auto& slot = links_[index];
  const Link before = slot;
  slot = event.link;
  // Taking a link down makes the kernel purge its proxy entries without telling anyone, and
  // kernels before 6.17 purge them on carrier loss too (docs/design.md, "Silent proxy table").
  // Forget them on any such change; the next reconcile re-adds them (adding is idempotent)
  // whatever this kernel did.
  if (before.up != slot.up || before.carrier != slot.carrier) {
    erase_where(proxies_, [index](const IfAddressKey& key) { return key.first == index; });
  }
  return before != slot;
}

bool ObservedState::apply_address(const AddressEvent& event) {
  const auto index = event.address.ifindex;
  // IPv6 disabled on a link (disable_ipv6 = 1: NetworkManager's connection down) tears down its
  // IPv6 state, and the kernel purges the link's proxy entries without telling anyone, while
  // the link stays up. The traces are its link-local address leaving, and arriving when IPv6
  // is back; NetworkManager deletes that address itself before it disables IPv6, so the purge
  // may come after the leaving. Forget the entries at both, as on admin down: the next
  // reconcile re-adds them (adding is idempotent).
  const SourceKey key{event.address.address, index};
  if (event.address.address.is_link_local() &&
      (event.change == Change::kDel || !addresses_.contains(key))) {
    erase_where(proxies_, [index](const IfAddressKey& k) { return k.first == index; });
  }
  return upsert(addresses_, key, event.address, event.change);
}

bool ObservedState::apply_neighbour(const NeighbourEvent& event) {
  return upsert(neighbours_, {event.neighbour.address, event.neighbour.ifindex},
                event.neighbour.info(), event.change);
}

bool ObservedState::apply_route(const RouteEvent& event) {
  const bool changed = upsert(routes_, key_of(event.route), event.route, event.change);
  if (changed && is_host_route(event.route)) {
    const SourceKey key{event.route.destination.network(), event.route.oif};
    if (event.change == Change::kDel) {
      host_routes_.erase(key);
    } else {
      host_routes_.insert(key);
    }
  }
  return changed;
}

bool ObservedState::apply_proxy(const ProxyEvent& event) {
  if (event.change == Change::kDel) {
    return proxies_.erase({event.entry.ifindex, event.entry.address}) > 0;
  }
  note_proxy_added(event.entry);
  return true;
}

void ObservedState::forget_interface(IfIndex index) {
  erase_where(addresses_, [index](const SourceKey& key) { return key.ifindex == index; });
  erase_where(neighbours_, [index](const SourceKey& key) { return key.ifindex == index; });
  erase_where(proxies_, [index](const IfAddressKey& key) { return key.first == index; });
  erase_where(routes_, [index](const RouteKey& key) { return key.oif == index; });
  std::erase_if(host_routes_, [index](const SourceKey& key) { return key.ifindex == index; });
}

}  // namespace ndpsync
