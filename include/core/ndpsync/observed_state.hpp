// What the kernel holds, as far as we know: filled from a dump, kept current by events.
#pragma once

#include <limits>
#include <map>
#include <set>
#include <utility>

#include "ndpsync/kernel_port.hpp"
#include "ndpsync/types.hpp"

namespace ndpsync {

using IfAddressKey = std::pair<IfIndex, Ipv6Address>;

// Addresses and neighbours are keyed address first, so that every interface holding one address
// is one range of the map: an address is judged from all its sources in O(log n).
struct SourceKey {
  Ipv6Address address;
  IfIndex ifindex = 0;

  [[nodiscard]] IfAddressKey if_key() const { return {ifindex, address}; }
  // clang-tidy 14 takes the synthesized comparisons' 0 for a null pointer.
  // NOLINTNEXTLINE(modernize-use-nullptr)
  auto operator<=>(const SourceKey&) const = default;
};
inline SourceKey source_key(const IfAddressKey& key) { return {key.second, key.first}; }

// The kernel's proxy entries: (uplink, address) -> NDA_PROTOCOL. One per proxied address, so the
// key is not stored twice.
using ProxyTable = std::map<IfAddressKey, std::uint8_t>;
inline ProxyEntry proxy_entry(const ProxyTable::value_type& item) {
  return {item.first.first, item.first.second, item.second};
}

struct RouteKey {
  std::uint32_t table = 0;
  Prefix destination;
  IfIndex oif = 0;
  std::optional<Ipv6Address> gateway;
  // clang-tidy 14 takes the synthesized comparisons' 0 for a null pointer.
  // NOLINTNEXTLINE(modernize-use-nullptr)
  auto operator<=>(const RouteKey&) const = default;
};

// A main-table unicast route to one address (/128) with no gateway: the address sits on that
// interface's link, as Incus/LXD routed NICs and Calico-style setups make it (`ADDR dev vethX`).
// Downstream, it is an address to mirror. Blackhole and unreachable routes never get here
// (the parser keeps RTN_UNICAST only); a /128 through a gateway names a router's client, not a
// node on the link, and is not one.
inline bool is_host_route(const Route& route) {
  return route.table == 254 && route.destination.length() == 128 && !route.gateway &&
         route.oif != 0;
}

inline Neighbour neighbour_of(const std::pair<const SourceKey, NeighbourInfo>& item) {
  const auto& [key, info] = item;
  return {key.ifindex, key.address, info.state, info.router, info.lladdr};
}

class ObservedState {
 public:
  void replace(Snapshot snapshot);
  void replace_proxies(const std::vector<ProxyEntry>& proxies);
  // Returns false when the event changed nothing we keep.
  bool apply(const KernelEvent& event);

  [[nodiscard]] const Link* link(IfIndex index) const;
  // The link's name, or its index when it is unknown (for logs).
  [[nodiscard]] std::string link_name(IfIndex index) const;
  [[nodiscard]] const Link* link_by_name(std::string_view name) const;

  [[nodiscard]] const std::map<IfIndex, Link>& links() const { return links_; }
  [[nodiscard]] const std::map<SourceKey, Address>& addresses() const { return addresses_; }
  [[nodiscard]] const std::map<SourceKey, NeighbourInfo>& neighbours() const { return neighbours_; }
  // One address or neighbour; nullptr when the kernel has none.
  [[nodiscard]] const Address* address(const IfAddressKey& key) const;
  [[nodiscard]] const NeighbourInfo* neighbour(const IfAddressKey& key) const;
  // Every interface where `address` is configured, or has a neighbour entry, in ifindex order.
  [[nodiscard]] auto addresses_of(const Ipv6Address& address) const {
    return range_of(addresses_, address);
  }
  [[nodiscard]] auto neighbours_of(const Ipv6Address& address) const {
    return range_of(neighbours_, address);
  }
  [[nodiscard]] const std::map<RouteKey, Route>& routes() const { return routes_; }
  // The host routes (is_host_route), address first: (address, oif).
  [[nodiscard]] const std::set<SourceKey>& host_routes() const { return host_routes_; }
  [[nodiscard]] auto host_routes_of(const Ipv6Address& address) const {
    return range_of(host_routes_, address);
  }
  [[nodiscard]] const ProxyTable& proxies() const { return proxies_; }

  // Keeps the proxy view in step with what we just wrote (the kernel will not tell us).
  void note_proxy_added(const ProxyEntry& entry) {
    proxies_[{entry.ifindex, entry.address}] = entry.protocol;
  }
  void note_proxy_removed(const ProxyEntry& entry) {
    proxies_.erase({entry.ifindex, entry.address});
  }

 private:
  // A pair of iterators for range-for (not std::ranges::subrange: clang 14, which builds the
  // fuzz targets, cannot use libstdc++ 12's ranges).
  template <typename Iterator>
  struct Range {
    Iterator first;
    Iterator last;
    [[nodiscard]] Iterator begin() const { return first; }
    [[nodiscard]] Iterator end() const { return last; }
  };
  template <typename Map>
  static Range<typename Map::const_iterator> range_of(const Map& map, const Ipv6Address& address) {
    return {map.lower_bound({address, 0}),
            map.upper_bound({address, std::numeric_limits<IfIndex>::max()})};
  }
  bool apply_link(const LinkEvent& event);
  bool apply_address(const AddressEvent& event);
  bool apply_neighbour(const NeighbourEvent& event);
  bool apply_route(const RouteEvent& event);
  bool apply_proxy(const ProxyEvent& event);
  void forget_interface(IfIndex index);

  std::map<IfIndex, Link> links_;
  std::map<SourceKey, Address> addresses_;
  std::map<SourceKey, NeighbourInfo> neighbours_;
  std::map<RouteKey, Route> routes_;
  std::set<SourceKey> host_routes_;  // an index of routes_
  ProxyTable proxies_;
};

}  // namespace ndpsync
