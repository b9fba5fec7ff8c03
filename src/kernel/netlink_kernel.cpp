// Netlink sockets through libnl: a request socket for dumps and writes (NetlinkKernel) and a
// subscribed event socket (NetlinkEvents). libnl's caches cannot see proxy entries or
// NDA_PROTOCOL (fact 7), so every message is built and parsed with its nlmsg/nla API.
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

#include "ndpsync/netlink.hpp"
#include "ndpsync/result.hpp"

namespace ndpsync {
namespace {

// One datagram at a time. The kernel never sends more than 32 KiB in one: a dump's skb grows
// with the reader's largest recv() but is capped at SKB_WITH_OVERHEAD(32768) (af_netlink.c,
// netlink_recvmsg), and an event is a single message. A bigger buffer only costs resident memory;
// MSG_TRUNC still catches anything that would not fit.
constexpr std::size_t kReceiveBuffer = 32U << 10U;
constexpr int kDumpRetries = 5;

Status fail(int error, const std::string& what) {
  return {.error = error, .message = what + ": " + errno_name(error)};
}

struct SocketDeleter {
  void operator()(nl_sock* sock) const { nl_socket_free(sock); }
};
using SocketPtr = std::unique_ptr<nl_sock, SocketDeleter>;

struct MessageDeleter {
  void operator()(nl_msg* msg) const { nlmsg_free(msg); }
};
using MessagePtr = std::unique_ptr<nl_msg, MessageDeleter>;

Result<SocketPtr> open_socket() {
  SocketPtr sock(nl_socket_alloc());
  if (!sock) {
    return {.status = fail(ENOMEM, "netlink socket"), .value = nullptr};
  }
  if (const int err = nl_connect(sock.get(), NETLINK_ROUTE); err < 0) {
    return {
        .status = {.error = EIO, .message = std::string("netlink connect: ") + nl_geterror(err)},
        .value = nullptr};
  }
  return {.status = {}, .value = std::move(sock)};
}

std::string sysctl_path(const SysctlKey& key) {
  return std::string("/proc/sys/net/ipv6/") +
         (key.tree == SysctlKey::Tree::kConf ? "conf/" : "neigh/") + key.iface + "/" + key.name;
}

class NetlinkKernel final : public KernelPort {
 public:
  explicit NetlinkKernel(SocketPtr sock) : sock_(std::move(sock)), buffer_(kReceiveBuffer) {}

  Result<Snapshot> dump() override {
    Snapshot snapshot;
    const auto collect = [&snapshot](const KernelEvent& event) {
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
            } else {
              snapshot.proxies.push_back(e.entry);
            }
          },
          event);
    };
    ifinfomsg link{};
    link.ifi_family = AF_UNSPEC;
    ifaddrmsg addr{};
    addr.ifa_family = AF_INET6;
    ndmsg neigh{};
    neigh.ndm_family = AF_INET6;
    rtmsg route{};
    route.rtm_family = AF_INET6;
    for (auto status : {run_dump(RTM_GETLINK, &link, sizeof(link), collect),
                        run_dump(RTM_GETADDR, &addr, sizeof(addr), collect),
                        run_dump(RTM_GETNEIGH, &neigh, sizeof(neigh), collect),
                        run_dump(RTM_GETROUTE, &route, sizeof(route), collect)}) {
      if (!status.ok()) {
        return {.status = status, .value = {}};
      }
    }
    auto proxies = dump_proxies();
    snapshot.proxies = std::move(proxies.value);
    return {.status = proxies.status, .value = std::move(snapshot)};
  }

  Result<std::vector<ProxyEntry>> dump_proxies() override {
    // A full ndmsg whose flags are exactly NTF_PROXY selects the proxy table (fact 6).
    ndmsg request{};
    request.ndm_family = AF_INET6;
    request.ndm_flags = NTF_PROXY;
    std::vector<ProxyEntry> entries;
    auto status = run_dump(RTM_GETNEIGH, &request, sizeof(request), [&](const KernelEvent& e) {
      if (const auto* proxy = std::get_if<ProxyEvent>(&e)) {
        entries.push_back(proxy->entry);
      }
    });
    return {.status = status, .value = std::move(entries)};
  }

  Status add_proxy(const ProxyEntry& entry) override {
    return write_neigh(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, entry.ifindex, entry.address,
                       NTF_PROXY, NUD_PERMANENT, entry.protocol, "add proxy");
  }

  Status delete_proxy(const ProxyEntry& entry) override {
    auto status =
        write_neigh(RTM_DELNEIGH, 0, entry.ifindex, entry.address, NTF_PROXY, 0, 0, "delete proxy");
    // Already gone is what we wanted (ENODEV: the link went, taking its entries).
    if (status.error == ENOENT || status.error == ESRCH || status.error == ENODEV) {
      return {};
    }
    return status;
  }

  Status probe_neighbour(IfIndex ifindex, const Ipv6Address& address) override {
    // An entry with a link-layer address moved to NUD_PROBE sends its unicast probes at once
    // (`ip neigh change ... nud probe`): REACHABLE in milliseconds, or FAILED after
    // ucast_solicit x retrans_time.
    auto status = write_neigh(RTM_NEWNEIGH, NLM_F_REPLACE, ifindex, address, 0, NUD_PROBE, 0,
                              "probe neighbour");
    if (status.error == ENOENT || status.error == EINVAL) {
      // Gone, or FAILED without an address: NTF_USE resolves it as if a packet were waiting,
      // creating it when needed, with multicast solicitations.
      status = write_neigh(RTM_NEWNEIGH, NLM_F_CREATE, ifindex, address, NTF_USE, NUD_NONE, 0,
                           "probe neighbour");
    }
    return status;
  }

  Result<std::string> read_sysctl(const SysctlKey& key) override {
    std::ifstream file(sysctl_path(key));
    std::string value;
    if (!file || !std::getline(file, value)) {
      return {.status = fail(errno != 0 ? errno : ENOENT, "read " + key.to_string()), .value = {}};
    }
    return {.status = {}, .value = value};
  }

  Status write_sysctl(const SysctlKey& key, const std::string& value) override {
    std::ofstream file(sysctl_path(key));
    if (!file) {
      return fail(errno != 0 ? errno : ENOENT, "write " + key.to_string());
    }
    file << value << '\n';
    file.flush();
    if (!file) {
      return fail(errno != 0 ? errno : EIO, "write " + key.to_string());
    }
    return {};
  }

 private:
  using Visitor = std::function<void(const KernelEvent&)>;

  // Sends a request and returns its sequence number, or -errno.
  long send(nl_msg* msg) {
    const int err = nl_send_auto(sock_.get(), msg);
    if (err < 0) {
      return -EIO;
    }
    return static_cast<long>(nlmsg_hdr(msg)->nlmsg_seq);
  }

  // Receives one datagram into buffer_; returns its length or -errno.
  long receive() {
    while (true) {
      const auto n = recv(nl_socket_get_fd(sock_.get()), buffer_.data(), buffer_.size(), MSG_TRUNC);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n < 0) {
        return -errno;
      }
      if (static_cast<std::size_t>(n) > buffer_.size()) {
        return -EMSGSIZE;
      }
      return n;
    }
  }

  Status run_dump(int type, const void* header, std::size_t length, const Visitor& visit) {
    for (int attempt = 0; attempt < kDumpRetries; ++attempt) {
      bool interrupted = false;
      auto status = dump_once(type, header, length, visit, interrupted);
      if (!status.ok() || !interrupted) {
        return status;
      }
      // NLM_F_DUMP_INTR: the table changed under the dump; what we got may be inconsistent.
    }
    return fail(EAGAIN, "dump kept being interrupted by changes");
  }

  Status dump_once(int type, const void* header, std::size_t length, const Visitor& visit,
                   bool& interrupted) {
    MessagePtr msg(nlmsg_alloc_simple(type, NLM_F_REQUEST | NLM_F_DUMP));
    if (!msg || nlmsg_append(msg.get(), const_cast<void*>(header), length, NLMSG_ALIGNTO) < 0) {
      return fail(ENOMEM, "build dump request");
    }
    const long seq = send(msg.get());
    if (seq < 0) {
      return fail(static_cast<int>(-seq), "send dump request");
    }
    std::vector<KernelEvent> events;
    std::string parse_error;
    while (true) {
      const long n = receive();
      if (n < 0) {
        return fail(static_cast<int>(-n), "receive dump");
      }
      bool done = false;
      int error = 0;
      const auto framing = for_each_message(
          std::span(buffer_.data(), static_cast<std::size_t>(n)), [&](const nlmsghdr* h) {
            if (static_cast<long>(h->nlmsg_seq) != seq || done) {
              return;  // a late answer to an earlier request
            }
            if ((h->nlmsg_flags & NLM_F_DUMP_INTR) != 0) {
              interrupted = true;
            }
            if (h->nlmsg_type == NLMSG_DONE) {
              done = true;
            } else if (h->nlmsg_type == NLMSG_ERROR) {
              const auto* e = static_cast<const nlmsgerr*>(nlmsg_data(h));
              error = h->nlmsg_len >= NLMSG_LENGTH(sizeof(nlmsgerr)) ? -e->error : EPROTO;
              done = true;
            } else {
              auto parsed = parse_message(h);
              if (!parsed.error.empty() && parse_error.empty()) {
                parse_error = parsed.error;
              } else if (parsed.event) {
                events.push_back(std::move(*parsed.event));
              }
            }
          });
      if (!framing.empty()) {
        return {.error = EBADMSG, .message = framing};
      }
      if (error != 0) {
        return fail(error, "dump");
      }
      if (done) {
        break;
      }
    }
    if (!parse_error.empty()) {
      return {.error = EBADMSG, .message = parse_error};
    }
    for (const auto& event : events) {
      visit(event);
    }
    return {};
  }

  Status write_neigh(int type, int flags, IfIndex ifindex, const Ipv6Address& address,
                     std::uint8_t ntf, std::uint16_t state, std::uint8_t protocol,
                     const std::string& what) {
    const std::string target = what + " " + address.to_string();
    MessagePtr msg(nlmsg_alloc_simple(type, NLM_F_REQUEST | NLM_F_ACK | flags));
    ndmsg header{};
    header.ndm_family = AF_INET6;
    header.ndm_ifindex = ifindex;
    header.ndm_state = state;
    header.ndm_flags = ntf;
    if (!msg || nlmsg_append(msg.get(), &header, sizeof(header), NLMSG_ALIGNTO) < 0 ||
        nla_put(msg.get(), NDA_DST, 16, address.bytes().data()) < 0 ||
        (protocol != 0 && nla_put_u8(msg.get(), NDA_PROTOCOL, protocol) < 0)) {
      return fail(ENOMEM, target);
    }
    const long seq = send(msg.get());
    if (seq < 0) {
      return fail(static_cast<int>(-seq), target);
    }
    while (true) {
      const long n = receive();
      if (n < 0) {
        return fail(static_cast<int>(-n), target);
      }
      int error = -1;
      for_each_message(
          std::span(buffer_.data(), static_cast<std::size_t>(n)), [&](const nlmsghdr* h) {
            if (static_cast<long>(h->nlmsg_seq) == seq && h->nlmsg_type == NLMSG_ERROR &&
                h->nlmsg_len >= NLMSG_LENGTH(sizeof(nlmsgerr))) {
              error = -static_cast<const nlmsgerr*>(nlmsg_data(h))->error;
            }
          });
      if (error == 0) {
        return {};
      }
      if (error > 0) {
        return fail(error, target);
      }
    }
  }

  SocketPtr sock_;
  std::vector<std::byte> buffer_;
};

class NetlinkEvents final : public EventSource {
 public:
  explicit NetlinkEvents(SocketPtr sock) : sock_(std::move(sock)), buffer_(kReceiveBuffer) {}

  Drain drain(std::vector<KernelEvent>& out) override {
    bool overrun = false;
    bool malformed = false;
    while (true) {
      const auto n = recv(nl_socket_get_fd(sock_.get()), buffer_.data(), buffer_.size(),
                          MSG_DONTWAIT | MSG_TRUNC);
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          if (overrun) return Drain::kOverrun;
          return malformed ? Drain::kMalformed : Drain::kIdle;
        }
        if (errno == ENOBUFS) {
          // The kernel dropped events. Keep reading what is queued, then report.
          overrun = true;
          continue;
        }
        return Drain::kError;
      }
      if (static_cast<std::size_t>(n) > buffer_.size()) {
        overrun = true;  // truncated: as good as lost
        continue;
      }
      auto framing = for_each_message(std::span(buffer_.data(), static_cast<std::size_t>(n)),
                                      [&](const nlmsghdr* h) {
                                        auto parsed = parse_message(h);
                                        if (parsed.event) {
                                          out.push_back(std::move(*parsed.event));
                                        } else if (!parsed.error.empty()) {
                                          malformed = true;
                                          last_error_ = std::move(parsed.error);
                                        }
                                      });
      if (!framing.empty()) {
        malformed = true;
        last_error_ = std::move(framing);
      }
    }
  }

  [[nodiscard]] std::string last_error() const override { return last_error_; }

  bool wait(std::chrono::milliseconds timeout) override {
    pollfd pfd{.fd = fd(), .events = POLLIN, .revents = 0};
    return ::poll(&pfd, 1, static_cast<int>(timeout.count())) > 0;
  }

  [[nodiscard]] int fd() const override { return nl_socket_get_fd(sock_.get()); }

 private:
  SocketPtr sock_;
  std::vector<std::byte> buffer_;
  std::string last_error_;
};

}  // namespace

std::unique_ptr<KernelPort> make_netlink_kernel() {
  auto sock = open_socket();
  if (!sock.ok()) {
    return nullptr;
  }
  return std::make_unique<NetlinkKernel>(std::move(sock.value));
}

Result<std::unique_ptr<EventSource>> make_netlink_events(const NetlinkOptions& options) {
  SocketPtr sock(nl_socket_alloc());
  if (!sock) {
    return {.status = fail(ENOMEM, "netlink event socket"), .value = nullptr};
  }
  nl_socket_disable_seq_check(sock.get());  // notifications carry sequence number 0
  if (const int err = nl_connect(sock.get(), NETLINK_ROUTE); err < 0) {
    return {
        .status = {.error = EIO, .message = std::string("netlink connect: ") + nl_geterror(err)},
        .value = nullptr};
  }
  const int fd = nl_socket_get_fd(sock.get());
  // SO_RCVBUFFORCE passes rmem_max when we have CAP_NET_ADMIN; fall back to what is allowed.
  int size = static_cast<int>(options.event_rcvbuf);
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  }
  if (const int err = nl_socket_add_memberships(sock.get(), RTNLGRP_LINK, RTNLGRP_IPV6_IFADDR,
                                                RTNLGRP_NEIGH, RTNLGRP_IPV6_ROUTE, 0);
      err < 0) {
    return {
        .status = {.error = EIO, .message = std::string("netlink subscribe: ") + nl_geterror(err)},
        .value = nullptr};
  }
  return {.status = {}, .value = std::make_unique<NetlinkEvents>(std::move(sock))};
}

}  // namespace ndpsync
