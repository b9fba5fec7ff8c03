// A stateful fake of the kernel for unit tests: links, addresses, neighbours, routes, proxy
// entries and sysctls held in memory, with an event queue the tests feed.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <set>

#include "ndpsync/kernel_port.hpp"
#include "ndpsync/observed_state.hpp"

namespace ndpsync::testing {

class FakeKernel final : public KernelPort, public EventSource {
 public:
  // --- building the world (each also queues the event the kernel would send) ---
  void add_link(const Link& link);
  void remove_link(IfIndex index);
  void set_link_up(IfIndex index, bool up);
  void add_address(IfIndex ifindex, std::string_view address, unsigned prefix_length,
                   std::uint32_t flags = 0);
  void remove_address(IfIndex ifindex, std::string_view address);
  void set_neighbour(IfIndex ifindex, std::string_view address, NudState state, bool router = false,
                     std::string_view lladdr = "02:00:00:00:00:99");
  void remove_neighbour(IfIndex ifindex, std::string_view address);
  void add_route(std::string_view prefix, IfIndex oif, std::optional<std::string_view> gateway);
  void remove_route(std::string_view prefix, IfIndex oif);
  // Proxy changes are silent, as in the kernel.
  void put_proxy(IfIndex ifindex, std::string_view address, std::uint8_t protocol);
  void erase_proxy(IfIndex ifindex, std::string_view address);

  // --- inspection ---
  [[nodiscard]] std::set<ProxyEntry> proxies() const;
  [[nodiscard]] bool has_proxy(IfIndex ifindex, std::string_view address) const;
  std::map<SysctlKey, std::string> sysctls;
  std::vector<std::string> sysctl_writes;  // "key=value", in order
  std::vector<std::pair<IfIndex, Ipv6Address>> probes;
  int add_calls = 0;
  int delete_calls = 0;
  int dump_calls = 0;

  // --- faults ---
  std::set<Ipv6Address> fail_add;  // add_proxy for these fails with EPERM
  bool overrun_next_drain = false;
  std::string malformed_next_drain;  // non-empty: the next drain reports a malformed message

  // --- KernelPort ---
  Result<Snapshot> dump() override;
  Result<std::vector<ProxyEntry>> dump_proxies() override;
  Status add_proxy(const ProxyEntry& entry) override;
  Status delete_proxy(const ProxyEntry& entry) override;
  Status probe_neighbour(IfIndex ifindex, const Ipv6Address& address) override;
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
  void emit(KernelEvent event);

  ObservedState state_;
  std::deque<KernelEvent> events_;
  std::string last_error_;
};

Ipv6Address ip(std::string_view text);
Prefix prefix(std::string_view text);
LinkAddress mac(std::string_view text);

}  // namespace ndpsync::testing
