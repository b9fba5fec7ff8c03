// Requests and their replies on the netlink request socket: sequence numbers, acks, dumps and
// their NLM_F_DUMP_INTR retry. Messages are built with libnl's nlmsg/nla API: libnl's neighbour
// objects cannot carry NDA_PROTOCOL nor select the proxy table (docs/design.md).
#include "ndpsync/netlink_request.hpp"

#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netlink/msg.h>
#include <sys/socket.h>

#include <cerrno>
#include <memory>

#include "ndpsync/netlink.hpp"
#include "ndpsync/result.hpp"

namespace ndpsync {
namespace {

// One datagram at a time. The kernel never sends more than 32 KiB in one: a dump's skb grows
// with the reader's largest recv() but is capped at SKB_WITH_OVERHEAD(32768) (af_netlink.c,
// netlink_recvmsg), and an ack is a single message. A bigger buffer only costs resident memory;
// MSG_TRUNC still catches anything that would not fit.
constexpr std::size_t kReceiveBuffer = 32U << 10U;
constexpr int kDumpRetries = 5;

Status fail(int error, std::string_view what) {
  return {.error = error, .message = std::string(what) + ": " + errno_name(error)};
}

struct MessageDeleter {
  void operator()(nl_msg* msg) const { nlmsg_free(msg); }
};
using MessagePtr = std::unique_ptr<nl_msg, MessageDeleter>;

std::span<const std::byte> valid(std::span<const std::byte> buffer, long length) {
  return buffer.first(static_cast<std::size_t>(length));
}

}  // namespace

int FdDatagrams::send(std::span<const std::byte> datagram) {
  while (true) {
    if (::send(fd_, datagram.data(), datagram.size(), MSG_NOSIGNAL) >= 0) {
      return 0;
    }
    if (errno != EINTR) {
      return errno;
    }
  }
}

long FdDatagrams::receive(std::span<std::byte> buffer) {
  while (true) {
    const auto n = ::recv(fd_, buffer.data(), buffer.size(), MSG_TRUNC);
    if (n >= 0) {
      return n;
    }
    if (errno != EINTR) {
      return -errno;
    }
  }
}

ReplyScan scan_reply(std::span<const std::byte> datagram, std::uint32_t seq,
                     const std::function<void(const nlmsghdr*)>& visit) {
  ReplyScan scan;
  scan.framing = for_each_message(datagram, [&](const nlmsghdr* h) {
    if (h->nlmsg_seq != seq || scan.done) {
      return;  // a late answer to an earlier request, or past the end of this one
    }
    if ((h->nlmsg_flags & NLM_F_DUMP_INTR) != 0) {
      scan.interrupted = true;
    }
    if (h->nlmsg_type == NLMSG_DONE) {
      scan.done = true;
    } else if (h->nlmsg_type == NLMSG_ERROR) {
      const auto* e = static_cast<const nlmsgerr*>(nlmsg_data(h));
      scan.error = h->nlmsg_len >= NLMSG_LENGTH(sizeof(nlmsgerr)) ? -e->error : EPROTO;
      scan.acked = true;
      scan.done = true;
    } else {
      visit(h);
    }
  });
  return scan;
}

bool already_done(NeighbourWrite write, int error) {
  switch (write) {
    case NeighbourWrite::kAdd: return error == EEXIST;
    case NeighbourWrite::kDelete: return error == ENOENT || error == ESRCH || error == ENODEV;
    case NeighbourWrite::kOther: return false;
  }
  return false;
}

RequestChannel::RequestChannel(Datagrams& socket, std::uint32_t first_seq)
    : socket_(socket), next_seq_(first_seq), buffer_(kReceiveBuffer) {}

long RequestChannel::send(nl_msg* msg) {
  const std::uint32_t seq = next_seq_++;
  if (next_seq_ == 0) {
    next_seq_ = 1;  // 0 is what notifications carry
  }
  nlmsghdr* header = nlmsg_hdr(msg);
  header->nlmsg_seq = seq;
  const auto* bytes = reinterpret_cast<const std::byte*>(header);
  if (const int error = socket_.send(std::span(bytes, header->nlmsg_len)); error != 0) {
    return -error;
  }
  return static_cast<long>(seq);
}

long RequestChannel::receive() {
  const long n = socket_.receive(buffer_);
  if (n == 0) {
    return -EPROTO;  // netlink never sends an empty datagram: the other end is gone
  }
  if (n > static_cast<long>(buffer_.size())) {
    return -EMSGSIZE;
  }
  return n;
}

Status RequestChannel::dump(std::uint16_t type, std::span<const std::byte> header,
                            const Visitor& visit) {
  for (int attempt = 0; attempt < kDumpRetries; ++attempt) {
    bool interrupted = false;
    auto status = dump_once(type, header, visit, interrupted);
    if (!status.ok() || !interrupted) {
      return status;
    }
    // NLM_F_DUMP_INTR: the table changed under the dump; what we got may be inconsistent.
  }
  return fail(EAGAIN, "dump kept being interrupted by changes");
}

Status RequestChannel::dump_once(std::uint16_t type, std::span<const std::byte> header,
                                 const Visitor& visit, bool& interrupted) {
  MessagePtr msg(nlmsg_alloc_simple(type, NLM_F_REQUEST | NLM_F_DUMP));
  if (!msg || nlmsg_append(msg.get(), const_cast<std::byte*>(header.data()), header.size(),
                           NLMSG_ALIGNTO) < 0) {
    return fail(ENOMEM, "build dump request");
  }
  const long seq = send(msg.get());
  if (seq < 0) {
    return fail(static_cast<int>(-seq), "send dump request");
  }
  std::vector<KernelEvent> events;
  std::string parse_error;
  const auto collect = [&](const nlmsghdr* h) {
    auto parsed = parse_message(h);
    if (!parsed.error.empty() && parse_error.empty()) {
      parse_error = std::move(parsed.error);
    } else if (parsed.event) {
      events.push_back(std::move(*parsed.event));
    }
  };
  for (bool done = false; !done;) {
    const long n = receive();
    if (n < 0) {
      return fail(static_cast<int>(-n), "receive dump");
    }
    auto scan = scan_reply(valid(buffer_, n), static_cast<std::uint32_t>(seq), collect);
    if (!scan.framing.empty()) {
      return {.error = EBADMSG, .message = std::move(scan.framing)};
    }
    if (scan.error != 0) {
      return fail(scan.error, "dump");
    }
    interrupted = interrupted || scan.interrupted;
    done = scan.done;
  }
  if (!parse_error.empty()) {
    return {.error = EBADMSG, .message = parse_error};
  }
  if (interrupted) {
    return {};  // the caller runs it again: what this run saw must not reach it
  }
  for (const auto& event : events) {
    visit(event);
  }
  return {};
}

Status RequestChannel::write_neigh(const NeighbourRequest& request) {
  const std::string target = std::string(request.what) + " " + request.address.to_string();
  MessagePtr msg(nlmsg_alloc_simple(request.type, NLM_F_REQUEST | NLM_F_ACK | request.flags));
  ndmsg header{};
  header.ndm_family = AF_INET6;
  header.ndm_ifindex = request.ifindex;
  header.ndm_state = request.state;
  header.ndm_flags = request.ntf;
  if (!msg || nlmsg_append(msg.get(), &header, sizeof(header), NLMSG_ALIGNTO) < 0 ||
      nla_put(msg.get(), NDA_DST, 16, request.address.bytes().data()) < 0 ||
      (request.protocol != 0 && nla_put_u8(msg.get(), NDA_PROTOCOL, request.protocol) < 0)) {
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
    const auto scan =
        scan_reply(valid(buffer_, n), static_cast<std::uint32_t>(seq), [](const nlmsghdr*) {});
    if (!scan.framing.empty()) {
      return {.error = EBADMSG, .message = target + ": " + scan.framing};
    }
    if (scan.acked) {
      return scan.error == 0 ? Status{} : fail(scan.error, target);
    }
    if (scan.done) {
      return fail(EPROTO, target + ": NLMSG_DONE instead of an ack");
    }
  }
}

}  // namespace ndpsync
