// The request side of the netlink adapter, apart from the kernel: sequence matching, the
// NLM_F_DUMP_INTR retry, errno mapping, and what counts as success for a neighbour write. It
// runs over anything that carries whole datagrams, so the unit tests drive it through one end
// of a socketpair, with no root and no kernel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ndpsync/neighbour_port.hpp"

struct nlmsghdr;
struct nl_msg;

namespace ndpsync {

// Whole datagrams in and out: the kernel's request socket, or a test's socketpair.
class Datagrams {
 public:
  virtual ~Datagrams() = default;
  // Sends one datagram: 0, or the errno send(2) gave.
  virtual int send(std::span<const std::byte> datagram) = 0;
  // Receives one datagram into `buffer`: its whole length (more than buffer.size() when it did
  // not fit), or -errno.
  virtual long receive(std::span<std::byte> buffer) = 0;
};

// Datagrams on a descriptor it does not own: send(2) and recv(2) with MSG_TRUNC, EINTR retried.
class FdDatagrams final : public Datagrams {
 public:
  explicit FdDatagrams(int fd) : fd_(fd) {}
  int send(std::span<const std::byte> datagram) override;
  long receive(std::span<std::byte> buffer) override;

 private:
  int fd_;
};

// What one received datagram says about the request with sequence number `seq`.
struct ReplyScan {
  bool done = false;         // its NLMSG_DONE or its NLMSG_ERROR arrived
  bool acked = false;        // it was an NLMSG_ERROR: an ack when error is 0
  int error = 0;             // the positive errno of that NLMSG_ERROR
  bool interrupted = false;  // a message of this dump carried NLM_F_DUMP_INTR
  std::string framing;       // non-empty: the datagram ends inside a message
};
// Messages with another sequence number (late answers to an earlier request) and anything after
// the request's DONE or ERROR are skipped; its other messages go to `visit`.
ReplyScan scan_reply(std::span<const std::byte> datagram, std::uint32_t seq,
                     const std::function<void(const nlmsghdr*)>& visit);

// A write to the neighbour table: RTM_NEWNEIGH or RTM_DELNEIGH for one IPv6 address.
struct NeighbourRequest {
  std::uint16_t type = 0;   // RTM_NEWNEIGH or RTM_DELNEIGH
  std::uint16_t flags = 0;  // NLM_F_CREATE, NLM_F_REPLACE; NLM_F_REQUEST | NLM_F_ACK are added
  IfIndex ifindex = 0;
  Ipv6Address address;
  std::uint8_t ntf = 0;       // ndm_flags: NTF_PROXY, NTF_USE
  std::uint16_t state = 0;    // ndm_state: NUD_PERMANENT, NUD_PROBE, ...
  std::uint8_t protocol = 0;  // NDA_PROTOCOL; 0 sends none
  std::string_view what;      // for the error message: "add proxy", "probe neighbour"
};

// What a neighbour write's errno means to the port. An entry already there (EEXIST on add) or
// already gone (ENOENT or ESRCH on delete; ENODEV: its link went and took it) is success.
enum class NeighbourWrite : std::uint8_t { kAdd, kDelete, kOther };
[[nodiscard]] bool already_done(NeighbourWrite write, int error);

// Sequence numbers and replies on one request socket. Not thread-safe; one request at a time.
class RequestChannel {
 public:
  // Sequence numbers start at 1: the kernel's notifications carry 0.
  explicit RequestChannel(Datagrams& socket, std::uint32_t first_seq = 1);

  using Visitor = std::function<void(const KernelEvent&)>;
  // Dumps one table (`header` is the request's family header: ifinfomsg, ndmsg, ...). When the
  // table changed under the dump (NLM_F_DUMP_INTR) it runs again, a few times; only a whole,
  // clean dump reaches `visit`. A message that does not parse fails the dump with EBADMSG.
  Status dump(std::uint16_t type, std::span<const std::byte> header, const Visitor& visit);
  // Sends the request and waits for its ack: the kernel's errno as a Status.
  Status write_neigh(const NeighbourRequest& request);

  [[nodiscard]] std::uint32_t next_seq() const { return next_seq_; }

 private:
  Status dump_once(std::uint16_t type, std::span<const std::byte> header, const Visitor& visit,
                   bool& interrupted);
  // Stamps the next sequence number on the message and sends it; the number, or -errno.
  long send(nl_msg* msg);
  // Receives one datagram into buffer_: its length, or -errno (EMSGSIZE when it did not fit).
  long receive();

  Datagrams& socket_;
  std::uint32_t next_seq_;
  std::vector<std::byte> buffer_;
};

}  // namespace ndpsync
