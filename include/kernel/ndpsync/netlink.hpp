// The libnl adapter: the only code that sees netlink messages.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "ndpsync/kernel_port.hpp"
#include "ndpsync/netlink_request.hpp"

struct nlmsghdr;

namespace ndpsync {

// One netlink message turned into a typed event. `event` is empty when the message is of no
// interest (another family, a cloned route, ...); `error` names what is wrong with a malformed one.
struct ParsedMessage {
  std::optional<KernelEvent> event;
  std::string error;
};
ParsedMessage parse_message(const nlmsghdr* header);

// Walks a buffer of netlink messages as received from a socket, calling `visit` for each whole
// message; returns an error when the buffer ends inside a message.
std::string for_each_message(std::span<const std::byte> buffer,
                             const std::function<void(const nlmsghdr*)>& visit);

// The neighbour port over a request socket: the kernel's in production, a socketpair in tests.
class NetlinkNeighbours final : public NeighbourPort {
 public:
  explicit NetlinkNeighbours(Datagrams& socket, std::uint32_t first_seq = 1)
      : channel_(socket, first_seq) {}

  Result<Snapshot> dump() override;
  Result<std::vector<ProxyEntry>> dump_proxies() override;
  Status add_proxy(const ProxyEntry& entry) override;
  Status delete_proxy(const ProxyEntry& entry) override;
  Status probe_neighbour(IfIndex ifindex, const Ipv6Address& address) override;
  Status delete_neighbour(IfIndex ifindex, const Ipv6Address& address) override;

 private:
  RequestChannel channel_;
};

// The sysctls, as files under /proc/sys/net/ipv6.
class ProcSysctls final : public SysctlPort {
 public:
  Result<std::string> read_sysctl(const SysctlKey& key) override;
  Status write_sysctl(const SysctlKey& key, const std::string& value) override;
};

struct NetlinkOptions {
  std::size_t event_rcvbuf = 8U << 20U;
};

// The kernel port: NetlinkNeighbours on a request socket of its own, and ProcSysctls.
Result<std::unique_ptr<KernelPort>> make_netlink_kernel();

// The event socket, subscribed to link, IPv6 address, neighbour and IPv6 route groups. Create it
// before the first dump so that nothing that happens during the dump is lost.
Result<std::unique_ptr<EventSource>> make_netlink_events(const NetlinkOptions& options);

}  // namespace ndpsync
