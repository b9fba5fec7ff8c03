// The neighbour port on netlink: dumps of links, addresses, neighbours, routes and the proxy
// table, proxy entries written with our owner tag, and neighbour probes. The request logic
// (sequence numbers, acks, DUMP_INTR) lives in netlink_request.cpp, the sysctls in
// proc_sysctl.cpp, the event socket in netlink_events.cpp.
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include <cerrno>
#include <memory>
#include <optional>

#include "ndpsync/netlink.hpp"
#include "ndpsync/result.hpp"

namespace ndpsync {
namespace {

template <typename Header>
std::span<const std::byte> bytes_of(const Header& header) {
  return std::as_bytes(std::span(&header, 1));
}

// Appends each event to the part of the snapshot it belongs in.
void collect(Snapshot& snapshot, const KernelEvent& event) {
  std::visit(
      [&snapshot](const auto& e) {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, LinkEvent>) {
          snapshot.links.push_back(e.link);
        } else if constexpr (std::is_same_v<E, AddressEvent>) {
          snapshot.addresses.push_back(e.address);
        } else if constexpr (std::is_same_v<E, NeighbourEvent>) {
          snapshot.neighbours.push_back(e.neighbour);
        } else if constexpr (std::is_same_v<E, RouteEvent>) {
          snapshot.routes.push_back(e.route);
        } else if constexpr (std::is_same_v<E, ProxyEvent>) {
          snapshot.proxies.push_back(e.entry);
        }  // a NetconfEvent is never in a dump
      },
      event);
}

Status settled(NeighbourWrite write, const Status& status) {
  return already_done(write, status.error) ? Status{} : status;
}

}  // namespace

Result<Snapshot> NetlinkNeighbours::dump() {
  Snapshot snapshot;
  const auto visit = [&snapshot](const KernelEvent& event) { collect(snapshot, event); };
  ifinfomsg link{};
  link.ifi_family = AF_UNSPEC;
  ifaddrmsg addr{};
  addr.ifa_family = AF_INET6;
  ndmsg neigh{};
  neigh.ndm_family = AF_INET6;
  rtmsg route{};
  route.rtm_family = AF_INET6;
  for (const auto& status : {channel_.dump(RTM_GETLINK, bytes_of(link), visit),
                             channel_.dump(RTM_GETADDR, bytes_of(addr), visit),
                             channel_.dump(RTM_GETNEIGH, bytes_of(neigh), visit),
                             channel_.dump(RTM_GETROUTE, bytes_of(route), visit)}) {
    if (!status.ok()) {
      return {.status = status, .value = {}};
    }
  }
  auto proxies = dump_proxies();
  snapshot.proxies = std::move(proxies.value);
  return {.status = proxies.status, .value = std::move(snapshot)};
}

Result<std::vector<ProxyEntry>> NetlinkNeighbours::dump_proxies() {
  // A full ndmsg whose flags are exactly NTF_PROXY selects the proxy table.
  ndmsg request{};
  request.ndm_family = AF_INET6;
  request.ndm_flags = NTF_PROXY;
  std::vector<ProxyEntry> entries;
  auto status = channel_.dump(RTM_GETNEIGH, bytes_of(request), [&](const KernelEvent& e) {
    if (const auto* proxy = std::get_if<ProxyEvent>(&e)) {
      entries.push_back(proxy->entry);
    }
  });
  return {.status = status, .value = std::move(entries)};
}

Status NetlinkNeighbours::add_proxy(const ProxyEntry& entry) {
  return settled(NeighbourWrite::kAdd, channel_.write_neigh({.type = RTM_NEWNEIGH,
                                                             .flags = NLM_F_CREATE | NLM_F_REPLACE,
                                                             .ifindex = entry.ifindex,
                                                             .address = entry.address,
                                                             .ntf = NTF_PROXY,
                                                             .state = NUD_PERMANENT,
                                                             .protocol = entry.protocol,
                                                             .what = "add proxy"}));
}

Status NetlinkNeighbours::delete_proxy(const ProxyEntry& entry) {
  return settled(NeighbourWrite::kDelete, channel_.write_neigh({.type = RTM_DELNEIGH,
                                                                .ifindex = entry.ifindex,
                                                                .address = entry.address,
                                                                .ntf = NTF_PROXY,
                                                                .what = "delete proxy"}));
}

Status NetlinkNeighbours::probe_neighbour(IfIndex ifindex, const Ipv6Address& address) {
  // An entry with a link-layer address moved to NUD_PROBE sends its unicast probes at once
  // (`ip neigh change ... nud probe`): REACHABLE in milliseconds, or FAILED after
  // ucast_solicit x retrans_time.
  auto status = channel_.write_neigh({.type = RTM_NEWNEIGH,
                                      .flags = NLM_F_REPLACE,
                                      .ifindex = ifindex,
                                      .address = address,
                                      .state = NUD_PROBE,
                                      .what = "probe neighbour"});
  if (status.error == ENOENT || status.error == EINVAL) {
    // Gone, or FAILED without an address: NTF_USE resolves it as if a packet were waiting,
    // creating it when needed, with multicast solicitations.
    status = channel_.write_neigh({.type = RTM_NEWNEIGH,
                                   .flags = NLM_F_CREATE,
                                   .ifindex = ifindex,
                                   .address = address,
                                   .ntf = NTF_USE,
                                   .state = NUD_NONE,
                                   .what = "probe neighbour"});
  }
  return status;
}

Status NetlinkNeighbours::delete_neighbour(IfIndex ifindex, const Ipv6Address& address) {
  auto status = channel_.write_neigh(
      {.type = RTM_DELNEIGH, .ifindex = ifindex, .address = address, .what = "delete neighbour"});
  if (already_done(NeighbourWrite::kDelete, status.error)) return {};
  return status;
}

namespace {

struct SocketDeleter {
  void operator()(nl_sock* sock) const { nl_socket_free(sock); }
};
using SocketPtr = std::unique_ptr<nl_sock, SocketDeleter>;

// Both ports on one request socket, which it owns.
class NetlinkKernel final : public KernelPort {
 public:
  explicit NetlinkKernel(SocketPtr sock)
      : sock_(std::move(sock)), socket_(nl_socket_get_fd(sock_.get())), neighbours_(socket_) {}

  Result<Snapshot> dump() override { return neighbours_.dump(); }
  Result<std::vector<ProxyEntry>> dump_proxies() override { return neighbours_.dump_proxies(); }
  Status add_proxy(const ProxyEntry& entry) override { return neighbours_.add_proxy(entry); }
  Status delete_proxy(const ProxyEntry& entry) override { return neighbours_.delete_proxy(entry); }
  Status probe_neighbour(IfIndex ifindex, const Ipv6Address& address) override {
    return neighbours_.probe_neighbour(ifindex, address);
  }
  Status delete_neighbour(IfIndex ifindex, const Ipv6Address& address) override {
    return neighbours_.delete_neighbour(ifindex, address);
  }
  Result<std::string> read_sysctl(const SysctlKey& key) override {
    return sysctls_.read_sysctl(key);
  }
  Status write_sysctl(const SysctlKey& key, const std::string& value) override {
    return journaled_ ? journaled_->write_sysctl(key, value) : sysctls_.write_sysctl(key, value);
  }
  // From now on every write is recorded in the journal first.
  void keep_journal(std::unique_ptr<FileJournalStore> store, SysctlJournal journal) {
    store_ = std::move(store);
    journaled_.emplace(sysctls_, *store_, std::move(journal));
  }

 private:
  SocketPtr sock_;
  FdDatagrams socket_;
  NetlinkNeighbours neighbours_;
  ProcSysctls sysctls_;
  std::unique_ptr<FileJournalStore> store_;
  std::optional<JournaledSysctls> journaled_;
};

}  // namespace

Result<std::unique_ptr<KernelPort>> make_netlink_kernel(const std::string& journal_path) {
  SocketPtr sock(nl_socket_alloc());
  if (!sock) return {.status = {.error = ENOMEM, .message = "cannot open a netlink socket"}};
  if (const int err = nl_connect(sock.get(), NETLINK_ROUTE); err < 0) {
    return {
        .status = {.error = EIO,
                   .message = std::string("cannot open a netlink socket: ") + nl_geterror(err)}};
  }
  auto kernel = std::make_unique<NetlinkKernel>(std::move(sock));
  if (!journal_path.empty()) {
    auto store = std::make_unique<FileJournalStore>(journal_path);
    auto journal = load_journal(*store);
    if (!journal.ok()) return {.status = journal.status, .value = {}};
    if (journal.value) kernel->keep_journal(std::move(store), std::move(*journal.value));
  }
  return {.status = {}, .value = std::move(kernel)};
}

}  // namespace ndpsync
