#include "fake_kernel.hpp"

#include <cerrno>
#include <stdexcept>

namespace ndpsync::testing {

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

void FakeKernel::emit(KernelEvent event) {
  state_.apply(event);
  events_.push_back(std::move(event));
}

void FakeKernel::add_link(const Link& link) {
  emit(LinkEvent{Change::kNew, link});
  if (link.up) {
    // New interfaces inherit their sysctls from "default"; tests set what they need.
    sysctls.try_emplace({SysctlKey::Tree::kConf, link.name, "accept_ra"}, "1");
    sysctls.try_emplace({SysctlKey::Tree::kConf, link.name, "proxy_ndp"}, "0");
    sysctls.try_emplace({SysctlKey::Tree::kConf, link.name, "forwarding"}, "0");
    sysctls.try_emplace({SysctlKey::Tree::kNeigh, link.name, "proxy_delay"}, "80");
  }
}

void FakeKernel::remove_link(IfIndex index) {
  const auto* link = state_.link(index);
  if (link != nullptr) emit(LinkEvent{Change::kDel, *link});
}

void FakeKernel::set_link_up(IfIndex index, bool up) {
  auto link = *state_.link(index);
  link.up = up;
  link.carrier = up;
  emit(LinkEvent{Change::kNew, link});
}

void FakeKernel::add_address(IfIndex ifindex, std::string_view address, unsigned prefix_length,
                             std::uint32_t flags) {
  emit(AddressEvent{Change::kNew, {ifindex, ip(address), prefix_length, flags}});
}

void FakeKernel::remove_address(IfIndex ifindex, std::string_view address) {
  if (const auto* a = state_.address({ifindex, ip(address)})) emit(AddressEvent{Change::kDel, *a});
}

void FakeKernel::set_neighbour(IfIndex ifindex, std::string_view address, NudState state,
                               bool router, std::string_view lladdr) {
  emit(NeighbourEvent{Change::kNew, {ifindex, ip(address), state, router, mac(lladdr)}});
}

void FakeKernel::remove_neighbour(IfIndex ifindex, std::string_view address) {
  const auto it = state_.neighbours().find({ip(address), ifindex});
  if (it != state_.neighbours().end()) emit(NeighbourEvent{Change::kDel, neighbour_of(*it)});
}

void FakeKernel::add_route(std::string_view p, IfIndex oif,
                           std::optional<std::string_view> gateway) {
  Route route{
      .destination = prefix(p), .oif = oif, .gateway = std::nullopt, .protocol = 9, .table = 254};
  if (gateway) route.gateway = ip(*gateway);
  emit(RouteEvent{Change::kNew, route});
}

void FakeKernel::remove_route(std::string_view p, IfIndex oif) {
  for (const auto& [key, route] : state_.routes()) {
    if (route.destination == prefix(p) && route.oif == oif) {
      emit(RouteEvent{Change::kDel, route});
      return;
    }
  }
}

void FakeKernel::put_proxy(IfIndex ifindex, std::string_view address, std::uint8_t protocol) {
  state_.note_proxy_added({ifindex, ip(address), protocol});
}

void FakeKernel::erase_proxy(IfIndex ifindex, std::string_view address) {
  state_.note_proxy_removed({ifindex, ip(address), 0});
}

std::set<ProxyEntry> FakeKernel::proxies() const {
  std::set<ProxyEntry> out;
  for (const auto& item : state_.proxies()) out.insert(proxy_entry(item));
  return out;
}

bool FakeKernel::has_proxy(IfIndex ifindex, std::string_view address) const {
  return state_.proxies().contains({ifindex, ip(address)});
}

Result<Snapshot> FakeKernel::dump() {
  ++dump_calls;
  Snapshot s;
  for (const auto& [k, v] : state_.links()) s.links.push_back(v);
  for (const auto& [k, v] : state_.addresses()) s.addresses.push_back(v);
  for (const auto& item : state_.neighbours()) s.neighbours.push_back(neighbour_of(item));
  for (const auto& [k, v] : state_.routes()) s.routes.push_back(v);
  for (const auto& item : state_.proxies()) s.proxies.push_back(proxy_entry(item));
  return {.status = {}, .value = std::move(s)};
}

Result<std::vector<ProxyEntry>> FakeKernel::dump_proxies() {
  std::vector<ProxyEntry> out;
  for (const auto& item : state_.proxies()) out.push_back(proxy_entry(item));
  return {.status = {}, .value = out};
}

Status FakeKernel::add_proxy(const ProxyEntry& entry) {
  ++add_calls;
  if (fail_add.contains(entry.address)) return {.error = EPERM, .message = "injected failure"};
  const auto* link = state_.link(entry.ifindex);
  if (link == nullptr) return {.error = ENODEV, .message = "no such device"};
  state_.note_proxy_added(entry);
  return {};
}

Status FakeKernel::delete_proxy(const ProxyEntry& entry) {
  ++delete_calls;
  state_.note_proxy_removed(entry);
  return {};
}

Status FakeKernel::probe_neighbour(IfIndex ifindex, const Ipv6Address& address) {
  probes.emplace_back(ifindex, address);
  return {};
}

Result<std::string> FakeKernel::read_sysctl(const SysctlKey& key) {
  const auto it = sysctls.find(key);
  if (it == sysctls.end())
    return {.status = {.error = ENOENT, .message = "no such sysctl"}, .value = {}};
  return {.status = {}, .value = it->second};
}

Status FakeKernel::write_sysctl(const SysctlKey& key, const std::string& value) {
  sysctls[key] = value;
  sysctl_writes.push_back(key.to_string() + "=" + value);
  return {};
}

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
