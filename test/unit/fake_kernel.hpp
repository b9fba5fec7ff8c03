// A stateful fake of the kernel for unit tests: links, addresses, neighbours, routes, proxy
// entries and sysctls held in memory, with an event queue the tests feed.
//
// It keeps its own simple model of the kernel, independent of the agent's ObservedState, so that
// a test checks the agent against what the kernel does, not against what the agent believes:
// - taking a link admin-down purges every proxy entry on it, silently (no event);
// - disabling IPv6 on a link (disable_ipv6) purges them too, and deletes its addresses with an
//   event each, while the link stays up;
// - deleting a link drops its addresses, neighbours, routes and proxy entries with it;
// - writing a non-zero `forwarding` on `all` or on an interface deletes the RA-learned default
//   routes (protocol ra) of every interface whose accept_ra is not 2, with a route-delete event
//   for each;
// - any call can be made to fail with an errno of the test's choice (fail_next, fail_address,
//   fail_sysctl).
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <set>
#include <tuple>

#include "ndpsync/dad_port.hpp"
#include "ndpsync/kernel_port.hpp"
#include "ndpsync/solicitation_port.hpp"

namespace ndpsync::testing {

class FakeKernel final : public KernelPort, public EventSource {
 public:
  // The calls a test can make fail.
  enum class Call : std::uint8_t {
    kDump,
    kDumpProxies,
    kAdd,
    kDelete,
    kProbe,
    kReadSysctl,
    kWriteSysctl
  };

  // --- building the world (each also queues the event the kernel would send) ---
  void add_link(const Link& link);
  void remove_link(IfIndex index);
  void set_link_up(IfIndex index, bool up);
  // disable_ipv6 = 1 (`disabled`) or 0. The link-local address comes back with IPv6 as fe80::
  // and the index; the global ones are the network manager's or SLAAC's to add again.
  void set_ipv6_disabled(IfIndex index, bool disabled);
  void add_address(IfIndex ifindex, std::string_view address, unsigned prefix_length,
                   std::uint32_t flags = 0);
  void remove_address(IfIndex ifindex, std::string_view address);
  // Without `lladdr`, the neighbour is a node of its own: 02:99 and the address's last four
  // bytes (never the lab uplink's MAC), so that per-MAC caps see one node per address.
  void set_neighbour(IfIndex ifindex, std::string_view address, NudState state, bool router = false,
                     std::string_view lladdr = {});
  void remove_neighbour(IfIndex ifindex, std::string_view address);
  // A route learned from an RA (protocol ra, main table).
  void add_route(std::string_view prefix, IfIndex oif, std::optional<std::string_view> gateway);
  // Any route, as given (protocol, table).
  void add_route(const Route& route);
  void remove_route(std::string_view prefix, IfIndex oif);
  // Another program writes a sysctl; forwarding and proxy_ndp changes are announced
  // (NetconfEvent), as in the kernel, whoever writes them.
  void set_sysctl(const SysctlKey& key, std::string value);
  // Proxy changes are silent, as in the kernel.
  void put_proxy(IfIndex ifindex, std::string_view address, std::uint8_t protocol);
  void erase_proxy(IfIndex ifindex, std::string_view address);

  // --- inspection ---
  [[nodiscard]] std::set<ProxyEntry> proxies() const;
  [[nodiscard]] bool has_proxy(IfIndex ifindex, std::string_view address) const;
  [[nodiscard]] std::vector<Route> routes() const;
  [[nodiscard]] bool has_default_route(IfIndex oif) const;
  [[nodiscard]] bool has_neighbour(IfIndex ifindex, const Ipv6Address& address) const {
    return neighbours_.contains({ifindex, address});
  }
  std::map<SysctlKey, std::string> sysctls;
  std::vector<std::string> sysctl_writes;  // "key=value", in order
  std::vector<std::pair<IfIndex, Ipv6Address>> probes;
  std::vector<std::pair<IfIndex, Ipv6Address>> neighbour_deletes;
  int add_calls = 0;
  int delete_calls = 0;
  int dump_calls = 0;

  // --- faults ---
  std::set<Ipv6Address> fail_add;  // add_proxy for these fails with EPERM
  bool overrun_next_drain = false;
  std::string malformed_next_drain;  // non-empty: the next drain reports a malformed message
  // The next `times` calls of this kind fail with `error` (queued after earlier fail_next calls).
  void fail_next(Call call, int error, int times = 1);
  // Every call of this kind for this address fails with `error` (0 clears it). kAdd, kDelete and
  // kProbe only.
  void fail_address(Call call, std::string_view address, int error);
  // Every call of this kind for this sysctl fails with `error` (0 clears it). kReadSysctl and
  // kWriteSysctl only.
  void fail_sysctl(Call call, const SysctlKey& key, int error);
  void clear_faults();

  // --- NeighbourPort ---
  Result<Snapshot> dump() override;
  Result<std::vector<ProxyEntry>> dump_proxies() override;
  Status add_proxy(const ProxyEntry& entry) override;
  Status delete_proxy(const ProxyEntry& entry) override;
  Status probe_neighbour(IfIndex ifindex, const Ipv6Address& address) override;
  Status delete_neighbour(IfIndex ifindex, const Ipv6Address& address) override;
  // --- SysctlPort ---
  Result<std::string> read_sysctl(const SysctlKey& key) override;
  Status write_sysctl(const SysctlKey& key, const std::string& value) override;

  // --- EventSource ---
  Drain drain(std::vector<KernelEvent>& out) override;
  [[nodiscard]] std::string last_error() const override { return last_error_; }
  bool wait(std::chrono::milliseconds /*timeout*/) override {
    if (events_.empty() && on_wait) on_wait();
    return !events_.empty();
  }
  [[nodiscard]] int fd() const override { return -1; }
  // Runs when a caller waits with nothing queued: where tests make the "kernel" answer probes.
  std::function<void()> on_wait;
  [[nodiscard]] std::size_t pending_events() const { return events_.size(); }
  void drop_events() { events_.clear(); }

 private:
  using Key = std::pair<IfIndex, Ipv6Address>;
  using RouteId = std::tuple<std::uint32_t, Prefix, IfIndex, std::optional<Ipv6Address>>;

  // The errno an injected fault gives this call, or 0.
  int injected(Call call, const Ipv6Address* address = nullptr, const SysctlKey* key = nullptr);
  void purge_ra_default_routes();
  [[nodiscard]] bool accepts_ra_while_forwarding(IfIndex oif) const;
  void drop_interface(IfIndex index);

  void announce_sysctl(const SysctlKey& key);
  std::map<IfIndex, Link> links_;
  std::map<Key, Address> addresses_;
  std::map<Key, Neighbour> neighbours_;
  std::map<RouteId, Route> routes_;
  std::map<Key, std::uint8_t> proxies_;  // -> NDA_PROTOCOL
  std::deque<KernelEvent> events_;
  std::string last_error_;

  std::map<Call, std::deque<int>> next_failures_;
  std::map<std::pair<Call, Ipv6Address>, int> address_failures_;
  std::map<std::pair<Call, SysctlKey>, int> sysctl_failures_;
};

// A packet listener's fake: items a test injects, as if they had arrived on an interface, and
// every filter the agent set.
template <typename Item>
class FakePacketSource final : public PacketSource<Item> {
 public:
  template <typename... Fields>
  void inject(Fields&&... fields) {
    queued_.push_back(Item{std::forward<Fields>(fields)...});
  }
  void drain(std::vector<Item>& out) override {
    out.insert(out.end(), queued_.begin(), queued_.end());
    queued_.clear();
  }
  [[nodiscard]] int fd() const override { return -1; }
  Status set_filter(const PacketFilter& filter) override {
    filters.push_back(filter);
    return {};
  }
  std::size_t pause() override { return 0; }
  Status resume() override { return {}; }
  [[nodiscard]] bool targets_filtered() const override { return targets_fit; }
  std::vector<PacketFilter> filters;  // every filter the agent set, in order
  bool targets_fit = true;

 private:
  std::vector<Item> queued_;
};
using FakeDadProbes = FakePacketSource<DadProbe>;
using FakeSolicitations = FakePacketSource<Solicitation>;

// The advert port's fake: what the agent sent, and the all-multicast references it holds.
class FakeAdverts final : public AdvertPort {
 public:
  Status advertise(const Advert& advert) override {
    sent.push_back(advert);
    return {};
  }
  Status hold_allmulti(IfIndex ifindex, AllmultiRef ref) override {
    allmulti[ifindex] += ref == AllmultiRef::kTake ? 1 : -1;
    return {};
  }
  std::vector<Advert> sent;
  std::map<IfIndex, int> allmulti;  // references held, per interface
};

Ipv6Address ip(std::string_view text);
Prefix prefix(std::string_view text);
LinkAddress mac(std::string_view text);

}  // namespace ndpsync::testing
