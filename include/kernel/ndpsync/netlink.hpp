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
#include "ndpsync/sysctl_journal.hpp"

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

// The sysctl journal as a file, replaced atomically (a new file renamed over the old one).
class FileJournalStore final : public JournalStore {
 public:
  explicit FileJournalStore(std::string path) : path_(std::move(path)) {}
  Result<std::string> load() override;
  Status save(const std::string& text) override;
  Status erase() override;
  [[nodiscard]] std::string where() const override { return path_; }

 private:
  std::string path_;
};

// This boot's id (/proc/sys/kernel/random/boot_id); empty when unreadable.
std::string read_boot_id();

// The journal in `path`, read for this boot. Its directory must exist: without it (an install
// that never made one) the result is nullopt and nothing is recorded. A malformed file is an
// EINVAL error naming the file and the line.
Result<std::optional<SysctlJournal>> load_journal(FileJournalStore& store);

struct NetlinkOptions {
  std::size_t event_rcvbuf = 8U << 20U;
};

// The kernel port: NetlinkNeighbours on a request socket of its own, and ProcSysctls. With a
// journal file (journal_file() in config.hpp) whose directory exists, every sysctl write is
// recorded there first (JournaledSysctls).
Result<std::unique_ptr<KernelPort>> make_netlink_kernel(const std::string& journal_path = {});

// The event socket, subscribed to link, IPv6 address, neighbour and IPv6 route groups. Create it
// before the first dump so that nothing that happens during the dump is lost.
Result<std::unique_ptr<EventSource>> make_netlink_events(const NetlinkOptions& options);

}  // namespace ndpsync
