// What the kernel holds, as far as we know: filled from a dump, kept current by events.
#pragma once

#include <map>
#include <utility>

#include "ndpsync/kernel_port.hpp"
#include "ndpsync/types.hpp"

namespace ndpsync {

using IfAddressKey = std::pair<IfIndex, Ipv6Address>;

// The kernel's proxy entries: (uplink, address) -> NDA_PROTOCOL. One per proxied address, so the
// key is not stored twice.
using ProxyTable = std::map<IfAddressKey, std::uint8_t>;
inline ProxyEntry proxy_entry(const ProxyTable::value_type& item) {
  return {item.first.first, item.first.second, item.second};
}

struct RouteKey {
  std::uint32_t table;
  Prefix destination;
  IfIndex oif;
  std::optional<Ipv6Address> gateway;
  auto operator<=>(const RouteKey&) const = default;
};

inline Neighbour neighbour_of(const std::pair<const IfAddressKey, NeighbourInfo>& item) {
  const auto& [key, info] = item;
  return {key.first, key.second, info.state, info.router, info.lladdr};
}

class ObservedState {
 public:
  void replace(Snapshot snapshot);
  void replace_proxies(const std::vector<ProxyEntry>& proxies);
  // Returns false when the event changed nothing we keep.
  bool apply(const KernelEvent& event);

  [[nodiscard]] const Link* link(IfIndex index) const;
  [[nodiscard]] const Link* link_by_name(std::string_view name) const;

  [[nodiscard]] const std::map<IfIndex, Link>& links() const { return links_; }
  [[nodiscard]] const std::map<IfAddressKey, Address>& addresses() const { return addresses_; }
  [[nodiscard]] const std::map<IfAddressKey, NeighbourInfo>& neighbours() const {
    return neighbours_;
  }
  [[nodiscard]] const std::map<RouteKey, Route>& routes() const { return routes_; }
  [[nodiscard]] const ProxyTable& proxies() const { return proxies_; }

  // Keeps the proxy view in step with what we just wrote (the kernel will not tell us).
  void note_proxy_added(const ProxyEntry& entry) {
    proxies_[{entry.ifindex, entry.address}] = entry.protocol;
  }
  void note_proxy_removed(const ProxyEntry& entry) {
    proxies_.erase({entry.ifindex, entry.address});
  }

 private:
  bool apply_link(const LinkEvent& event);
  bool apply_address(const AddressEvent& event);
  bool apply_neighbour(const NeighbourEvent& event);
  bool apply_route(const RouteEvent& event);
  bool apply_proxy(const ProxyEvent& event);
  void forget_interface(IfIndex index);

  std::map<IfIndex, Link> links_;
  std::map<IfAddressKey, Address> addresses_;
  std::map<IfAddressKey, NeighbourInfo> neighbours_;
  std::map<RouteKey, Route> routes_;
  ProxyTable proxies_;
};

}  // namespace ndpsync
