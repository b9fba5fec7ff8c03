// The event socket: subscribed to link, IPv6 address, neighbour and IPv6 route notifications,
// drained without blocking. An overrun (ENOBUFS) or a message that does not parse is reported,
// never skipped: the caller re-dumps.
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <vector>

#include "ndpsync/netlink.hpp"
#include "ndpsync/result.hpp"

namespace ndpsync {
namespace {

// One datagram at a time: an event is a single message, well under 32 KiB. MSG_TRUNC catches
// anything that would not fit.
constexpr std::size_t kReceiveBuffer = 32U << 10U;
// Datagrams per drain: a storm of events must not keep the loop from signals, packets and the
// status socket. 1,024 events are a few milliseconds of work; the caller drains again at once.
constexpr int kPerDrain = 1024;

Status fail(int error, const std::string& what) {
  return {.error = error, .message = what + ": " + errno_name(error)};
}

struct SocketDeleter {
  void operator()(nl_sock* sock) const { nl_socket_free(sock); }
};
using SocketPtr = std::unique_ptr<nl_sock, SocketDeleter>;

class NetlinkEvents final : public EventSource {
 public:
  explicit NetlinkEvents(SocketPtr sock) : sock_(std::move(sock)), buffer_(kReceiveBuffer) {}

  Drain drain(std::vector<KernelEvent>& out) override {
    bool overrun = false;
    bool malformed = false;
    for (int read = 0;; ++read) {
      if (read == kPerDrain) {
        if (overrun) return Drain::kOverrun;
        return malformed ? Drain::kMalformed : Drain::kMore;
      }
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
  if (const int err =
          nl_socket_add_memberships(sock.get(), RTNLGRP_LINK, RTNLGRP_IPV6_IFADDR, RTNLGRP_NEIGH,
                                    RTNLGRP_IPV6_ROUTE, RTNLGRP_IPV6_NETCONF, 0);
      err < 0) {
    return {
        .status = {.error = EIO, .message = std::string("netlink subscribe: ") + nl_geterror(err)},
        .value = nullptr};
  }
  return {.status = {}, .value = std::make_unique<NetlinkEvents>(std::move(sock))};
}

}  // namespace ndpsync
