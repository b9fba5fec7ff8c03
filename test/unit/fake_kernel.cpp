#include "fake_kernel.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace ndpsync::testing {
namespace {

constexpr std::uint8_t kProtocolRa = 9;  // RTPROT_RA
constexpr std::uint32_t kMainTable = 254;

template <typename Map>
void erase_on(Map& map, IfIndex index) {
  std::erase_if(map, [index](const auto& item) { return item.first.first == index; });
}

Status failure(int error) { return {.error = error, .message = std::strerror(error)}; }

}  // namespace

Ipv6Address ip(std::string_view text) {
  const auto address = Ipv6Address::parse(text);
  if (!address) throw std::invalid_argument("bad address in test: " + std::string(text));
  return *address;
}

LinkAddress mac(std::string_view text) {
  const auto address = LinkAddress::parse(text);
  if (!address) throw std::invalid_argument("bad link-layer address in test: " + std::string(text));
  return *address;
}

Prefix prefix(std::string_view text) {
  const auto p = Prefix::parse(text);
  if (!p) throw std::invalid_argument("bad prefix in test: " + std::string(text));
  return *p;
}

// --- building the world ---

void FakeKernel::add_link(const Link& link) {
  links_[link.index] = link;
  events_.emplace_back(LinkEvent{Change::kNew, link});
  if (link.up) {
    // New interfaces inherit their sysctls from "default"; tests set what they need.
    sysctls.try_emplace({SysctlKey::Tree::kConf, link.name, "accept_ra"}, "1");
    sysctls.try_emplace({SysctlKey::Tree::kConf, link.name, "proxy_ndp"}, "0");
    sysctls.try_emplace({SysctlKey::Tree::kConf, link.name, "forwarding"}, "0");
    sysctls.try_emplace({SysctlKey::Tree::kNeigh, link.name, "proxy_delay"}, "80");
  }
}

void FakeKernel::drop_interface(IfIndex index) {
  erase_on(addresses_, index);
  erase_on(neighbours_, index);
  erase_on(proxies_, index);
  std::erase_if(routes_, [index](const auto& item) { return item.second.oif == index; });
}

void FakeKernel::remove_link(IfIndex index) {
  const auto it = links_.find(index);
  if (it == links_.end()) return;
  events_.emplace_back(LinkEvent{Change::kDel, it->second});
  links_.erase(it);
  drop_interface(index);  // the link's addresses, neighbours, routes and proxies go with it
}

void FakeKernel::set_link_up(IfIndex index, bool up) {
  const auto it = links_.find(index);
  if (it == links_.end()) return;
  Link& link = it->second;
  if (link.up && !up) {
    erase_on(proxies_, index);  // admin down purges the device's proxy entries, telling no one
  }
  link.up = up;
  link.carrier = up;
  events_.emplace_back(LinkEvent{Change::kNew, link});
}

void FakeKernel::set_ipv6_disabled(IfIndex index, bool disabled) {
  if (!links_.contains(index)) return;
  if (!disabled) {
    add_address(index, "fe80::" + std::to_string(index), 64);
    return;
  }
  erase_on(proxies_, index);  // addrconf_ifdown purges the device's proxy entries, silently
  for (auto it = addresses_.begin(); it != addresses_.end();) {
    if (it->first.first == index) {
      events_.emplace_back(AddressEvent{Change::kDel, it->second});
      it = addresses_.erase(it);
    } else {
      ++it;
    }
  }
}

void FakeKernel::add_address(IfIndex ifindex, std::string_view address, unsigned prefix_length,
                             std::uint32_t flags) {
  const Address a{ifindex, ip(address), prefix_length, flags};
  addresses_[{ifindex, a.address}] = a;
  events_.emplace_back(AddressEvent{Change::kNew, a});
}

void FakeKernel::remove_address(IfIndex ifindex, std::string_view address) {
  const auto it = addresses_.find({ifindex, ip(address)});
  if (it == addresses_.end()) return;
  events_.emplace_back(AddressEvent{Change::kDel, it->second});
  addresses_.erase(it);
}

void FakeKernel::set_neighbour(IfIndex ifindex, std::string_view address, NudState state,
                               bool router, std::string_view lladdr) {
  const auto a = ip(address);
  const auto& b = a.bytes();
  const std::uint8_t own[] = {0x02, 0x99, b[12], b[13], b[14], b[15]};
  const Neighbour n{ifindex, a, state, router,
                    lladdr.empty() ? LinkAddress(own, sizeof own) : mac(lladdr)};
  neighbours_[{ifindex, n.address}] = n;
  events_.emplace_back(NeighbourEvent{Change::kNew, n});
}

void FakeKernel::remove_neighbour(IfIndex ifindex, std::string_view address) {
  const auto it = neighbours_.find({ifindex, ip(address)});
  if (it == neighbours_.end()) return;
  events_.emplace_back(NeighbourEvent{Change::kDel, it->second});
  neighbours_.erase(it);
}

void FakeKernel::add_route(std::string_view p, IfIndex oif,
                           std::optional<std::string_view> gateway) {
  Route route{.destination = prefix(p),
              .oif = oif,
              .gateway = std::nullopt,
              .protocol = kProtocolRa,
              .table = kMainTable};
  if (gateway) route.gateway = ip(*gateway);
  add_route(route);
}

void FakeKernel::add_route(const Route& route) {
  routes_[{route.table, route.destination, route.oif, route.gateway}] = route;
  events_.emplace_back(RouteEvent{Change::kNew, route});
}

void FakeKernel::remove_route(std::string_view p, IfIndex oif) {
  for (auto it = routes_.begin(); it != routes_.end(); ++it) {
    if (it->second.destination == prefix(p) && it->second.oif == oif) {
      events_.emplace_back(RouteEvent{Change::kDel, it->second});
      routes_.erase(it);
      return;
    }
  }
}

void FakeKernel::put_proxy(IfIndex ifindex, std::string_view address, std::uint8_t protocol) {
  proxies_[{ifindex, ip(address)}] = protocol;
}

void FakeKernel::erase_proxy(IfIndex ifindex, std::string_view address) {
  proxies_.erase({ifindex, ip(address)});
}

// --- inspection ---

std::set<ProxyEntry> FakeKernel::proxies() const {
  std::set<ProxyEntry> out;
  for (const auto& [key, protocol] : proxies_) out.insert({key.first, key.second, protocol});
  return out;
}

bool FakeKernel::has_proxy(IfIndex ifindex, std::string_view address) const {
  return proxies_.contains({ifindex, ip(address)});
}

std::vector<Route> FakeKernel::routes() const {
  std::vector<Route> out;
  for (const auto& [id, route] : routes_) out.push_back(route);
  return out;
}

bool FakeKernel::has_default_route(IfIndex oif) const {
  for (const auto& [id, route] : routes_) {
    if (route.is_default() && route.oif == oif) return true;
  }
  return false;
}

// --- faults ---

void FakeKernel::fail_next(Call call, int error, int times) {
  for (int i = 0; i < times; ++i) next_failures_[call].push_back(error);
}

void FakeKernel::fail_address(Call call, std::string_view address, int error) {
  if (error == 0) {
    address_failures_.erase({call, ip(address)});
  } else {
    address_failures_[{call, ip(address)}] = error;
  }
}

void FakeKernel::fail_sysctl(Call call, const SysctlKey& key, int error) {
  if (error == 0) {
    sysctl_failures_.erase({call, key});
  } else {
    sysctl_failures_[{call, key}] = error;
  }
}

void FakeKernel::clear_faults() {
  next_failures_.clear();
  address_failures_.clear();
  sysctl_failures_.clear();
  fail_add.clear();
}

int FakeKernel::injected(Call call, const Ipv6Address* address, const SysctlKey* key) {
  if (auto queue = next_failures_.find(call);
      queue != next_failures_.end() && !queue->second.empty()) {
    const int error = queue->second.front();
    queue->second.pop_front();
    return error;
  }
  if (address != nullptr) {
    if (const auto it = address_failures_.find({call, *address}); it != address_failures_.end()) {
      return it->second;
    }
  }
  if (key != nullptr) {
    if (const auto it = sysctl_failures_.find({call, *key}); it != sysctl_failures_.end()) {
      return it->second;
    }
  }
  return 0;
}

// --- NeighbourPort ---

Result<Snapshot> FakeKernel::dump() {
  ++dump_calls;
  if (const int error = injected(Call::kDump); error != 0) {
    return {.status = failure(error), .value = {}};
  }
  Snapshot s;
  for (const auto& [k, v] : links_) s.links.push_back(v);
  for (const auto& [k, v] : addresses_) s.addresses.push_back(v);
  for (const auto& [k, v] : neighbours_) s.neighbours.push_back(v);
  for (const auto& [k, v] : routes_) s.routes.push_back(v);
  for (const auto& [k, v] : proxies_) s.proxies.push_back({k.first, k.second, v});
  return {.status = {}, .value = std::move(s)};
}

Result<std::vector<ProxyEntry>> FakeKernel::dump_proxies() {
  if (const int error = injected(Call::kDumpProxies); error != 0) {
    return {.status = failure(error), .value = {}};
  }
  std::vector<ProxyEntry> out;
  for (const auto& [k, v] : proxies_) out.push_back({k.first, k.second, v});
  return {.status = {}, .value = out};
}

Status FakeKernel::add_proxy(const ProxyEntry& entry) {
  ++add_calls;
  if (fail_add.contains(entry.address)) return {.error = EPERM, .message = "injected failure"};
  if (const int error = injected(Call::kAdd, &entry.address); error != 0) return failure(error);
  if (!links_.contains(entry.ifindex)) return {.error = ENODEV, .message = "no such device"};
  proxies_[{entry.ifindex, entry.address}] = entry.protocol;  // NLM_F_REPLACE: idempotent
  return {};
}

Status FakeKernel::delete_proxy(const ProxyEntry& entry) {
  ++delete_calls;
  if (const int error = injected(Call::kDelete, &entry.address); error != 0) {
    return failure(error);
  }
  proxies_.erase({entry.ifindex, entry.address});  // already gone is success
  return {};
}

Status FakeKernel::probe_neighbour(IfIndex ifindex, const Ipv6Address& address) {
  probes.emplace_back(ifindex, address);
  if (const int error = injected(Call::kProbe, &address); error != 0) return failure(error);
  return {};
}

Status FakeKernel::delete_neighbour(IfIndex ifindex, const Ipv6Address& address) {
  neighbour_deletes.emplace_back(ifindex, address);
  if (neighbours_.erase({ifindex, address}) > 0) {
    events_.push_back(
        NeighbourEvent{Change::kDel, Neighbour{.ifindex = ifindex, .address = address}});
  }
  return {};
}

// --- SysctlPort ---

Result<std::string> FakeKernel::read_sysctl(const SysctlKey& key) {
  if (const int error = injected(Call::kReadSysctl, nullptr, &key); error != 0) {
    return {.status = failure(error), .value = {}};
  }
  const auto it = sysctls.find(key);
  if (it == sysctls.end())
    return {.status = {.error = ENOENT, .message = "no such sysctl"}, .value = {}};
  return {.status = {}, .value = it->second};
}

void FakeKernel::set_sysctl(const SysctlKey& key, std::string value) {
  if (sysctls[key] == value) return;
  sysctls[key] = std::move(value);
  announce_sysctl(key);
}

void FakeKernel::announce_sysctl(const SysctlKey& key) {
  if (key.tree != SysctlKey::Tree::kConf || (key.name != "forwarding" && key.name != "proxy_ndp")) {
    return;
  }
  IfIndex index = 0;  // all and default
  for (const auto& [i, link] : links_) {
    if (link.name == key.iface) index = i;
  }
  events_.emplace_back(NetconfEvent{.ifindex = index});
}

Status FakeKernel::write_sysctl(const SysctlKey& key, const std::string& value) {
  if (const int error = injected(Call::kWriteSysctl, nullptr, &key); error != 0) {
    return failure(error);
  }
  const bool changed = sysctls[key] != value;
  sysctls[key] = value;
  sysctl_writes.push_back(key.to_string() + "=" + value);
  if (changed) announce_sysctl(key);
  // Enabling forwarding on "all" or on any interface (not "default") makes the kernel drop the
  // default routes it learned from RAs, wherever accept_ra is not 2. The fake purges on every
  // non-zero write, also of 1 over 1: a model that purges more catches more.
  if (key.tree == SysctlKey::Tree::kConf && key.name == "forwarding" && key.iface != "default" &&
      value != "0") {
    purge_ra_default_routes();
  }
  return {};
}

bool FakeKernel::accepts_ra_while_forwarding(IfIndex oif) const {
  const auto link = links_.find(oif);
  if (link == links_.end()) return false;
  const auto own = sysctls.find({SysctlKey::Tree::kConf, link->second.name, "accept_ra"});
  if (own != sysctls.end()) return own->second == "2";
  // An interface without a value of its own has what "default" had when it appeared.
  const auto inherited = sysctls.find({SysctlKey::Tree::kConf, "default", "accept_ra"});
  return inherited != sysctls.end() && inherited->second == "2";
}

void FakeKernel::purge_ra_default_routes() {
  // The kernel walks only the default routes: RA-learned prefix routes stay.
  for (auto it = routes_.begin(); it != routes_.end();) {
    const Route& route = it->second;
    if (route.is_default() && route.protocol == kProtocolRa &&
        !accepts_ra_while_forwarding(route.oif)) {
      events_.emplace_back(RouteEvent{Change::kDel, route});
      it = routes_.erase(it);
    } else {
      ++it;
    }
  }
}

// --- EventSource ---

EventSource::Drain FakeKernel::drain(std::vector<KernelEvent>& out) {
  out.insert(out.end(), events_.begin(), events_.end());
  events_.clear();
  if (overrun_next_drain) {
    overrun_next_drain = false;
    return Drain::kOverrun;
  }
  if (!malformed_next_drain.empty()) {
    last_error_ = std::exchange(malformed_next_drain, {});
    return Drain::kMalformed;
  }
  return Drain::kIdle;
}

}  // namespace ndpsync::testing
