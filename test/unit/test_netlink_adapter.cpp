// The netlink adapter's own logic, without root and without a kernel: sequence matching, the
// NLM_F_DUMP_INTR retry, errno mapping and "already gone is success". Replies are built here as
// netlink messages; the socket-level tests put them on one end of a socketpair and run the real
// adapter on the other.
#include <fcntl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include "catch2_compat.hpp"

#include "fake_kernel.hpp"
#include "ndpsync/netlink.hpp"

using namespace ndpsync;
using ndpsync::testing::ip;

namespace {

// Several netlink messages in one datagram, as the kernel packs them.
class Datagram {
 public:
  Datagram& message(std::uint16_t type, std::uint32_t seq, std::uint16_t flags,
                    std::span<const std::byte> payload) {
    nlmsghdr header{};
    header.nlmsg_len = NLMSG_LENGTH(payload.size());
    header.nlmsg_type = type;
    header.nlmsg_flags = flags;
    header.nlmsg_seq = seq;
    const auto start = bytes_.size();
    bytes_.resize(start + NLMSG_ALIGN(header.nlmsg_len));
    std::memcpy(bytes_.data() + start, &header, sizeof(header));
    std::memcpy(bytes_.data() + start + NLMSG_HDRLEN, payload.data(), payload.size());
    return *this;
  }
  // NLMSG_ERROR carrying -error (0: an ack).
  Datagram& ack(std::uint32_t seq, int error = 0) {
    nlmsgerr e{};
    e.error = -error;
    return message(NLMSG_ERROR, seq, 0, std::as_bytes(std::span(&e, 1)));
  }
  Datagram& done(std::uint32_t seq, std::uint16_t flags = NLM_F_MULTI) {
    const int zero = 0;
    return message(NLMSG_DONE, seq, flags, std::as_bytes(std::span(&zero, 1)));
  }
  // A proxy entry as a dump of the proxy table returns it.
  Datagram& proxy(std::uint32_t seq, std::string_view address, std::uint16_t flags = NLM_F_MULTI) {
    std::unique_ptr<nl_msg, decltype(&nlmsg_free)> msg(nlmsg_alloc_simple(RTM_NEWNEIGH, 0),
                                                       &nlmsg_free);
    ndmsg nd{};
    nd.ndm_family = AF_INET6;
    nd.ndm_ifindex = 2;
    nd.ndm_flags = NTF_PROXY;
    nlmsg_append(msg.get(), &nd, sizeof(nd), NLMSG_ALIGNTO);
    nla_put(msg.get(), NDA_DST, 16, ip(address).bytes().data());
    nla_put_u8(msg.get(), NDA_PROTOCOL, 176);
    const nlmsghdr* h = nlmsg_hdr(msg.get());
    const auto* payload = static_cast<const std::byte*>(nlmsg_data(h));
    return message(RTM_NEWNEIGH, seq, flags, std::span(payload, h->nlmsg_len - NLMSG_HDRLEN));
  }
  [[nodiscard]] std::span<const std::byte> bytes() const { return bytes_; }

 private:
  std::vector<std::byte> bytes_;
};

// The adapter on one end of a socketpair; the test plays the kernel on the other.
struct Wire {
  int ours = -1;
  int kernel = -1;
  Wire() {
    int fds[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, fds) == 0);
    ours = fds[0];
    kernel = fds[1];
    // A reply that never comes fails the call instead of hanging the test.
    timeval timeout{.tv_sec = 2, .tv_usec = 0};
    setsockopt(ours, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  }
  ~Wire() {
    close(ours);
    if (kernel >= 0) close(kernel);
  }
  Wire(const Wire&) = delete;
  Wire& operator=(const Wire&) = delete;

  void reply(const Datagram& d) const {
    REQUIRE(send(kernel, d.bytes().data(), d.bytes().size(), 0) ==
            static_cast<ssize_t>(d.bytes().size()));
  }
  // The next request the adapter sent.
  [[nodiscard]] std::vector<std::byte> request() const {
    std::vector<std::byte> buffer(4096);
    const auto n = recv(kernel, buffer.data(), buffer.size(), MSG_DONTWAIT);
    REQUIRE(n > 0);
    buffer.resize(static_cast<std::size_t>(n));
    return buffer;
  }
  [[nodiscard]] std::size_t requests() const {
    std::size_t count = 0;
    std::vector<std::byte> buffer(4096);
    while (recv(kernel, buffer.data(), buffer.size(), MSG_DONTWAIT) > 0) ++count;
    return count;
  }
};

const nlmsghdr* header_of(const std::vector<std::byte>& bytes) {
  return reinterpret_cast<const nlmsghdr*>(bytes.data());
}

const ProxyEntry kEntry{2, ip("2001:db8::1"), 176};

}  // namespace

TEST_CASE("scan_reply: only the request's own messages count, up to its end") {
  Datagram d;
  d.proxy(6, "2001:db8::6")     // a late answer to an earlier request
      .proxy(7, "2001:db8::7")  // ours
      .proxy(7, "2001:db8::8", NLM_F_MULTI | NLM_F_DUMP_INTR)
      .done(7)
      .proxy(7, "2001:db8::9");  // past the end: never seen
  std::vector<std::uint32_t> seen;
  const auto scan = scan_reply(d.bytes(), 7, [&](const nlmsghdr* h) {
    const auto parsed = parse_message(h);
    REQUIRE(parsed.event);
    seen.push_back(std::get<ProxyEvent>(*parsed.event).entry.address.bytes()[15]);
  });
  CHECK(seen == std::vector<std::uint32_t>{7, 8});
  CHECK(scan.done);
  CHECK_FALSE(scan.acked);
  CHECK(scan.interrupted);
  CHECK(scan.error == 0);
  CHECK(scan.framing.empty());
}

TEST_CASE("scan_reply: an error answers with its errno; a short one is EPROTO") {
  const auto nothing = [](const nlmsghdr*) { FAIL("no message to visit"); };
  SECTION("an error for an earlier request is not ours") {
    Datagram d;
    d.ack(3, ENOENT);
    const auto scan = scan_reply(d.bytes(), 4, nothing);
    CHECK_FALSE(scan.done);
    CHECK(scan.error == 0);
  }
  SECTION("ours") {
    Datagram d;
    d.ack(4, EPERM);
    const auto scan = scan_reply(d.bytes(), 4, nothing);
    CHECK(scan.acked);
    CHECK(scan.error == EPERM);
  }
  SECTION("an ack") {
    Datagram d;
    d.ack(4);
    const auto scan = scan_reply(d.bytes(), 4, nothing);
    CHECK(scan.acked);
    CHECK(scan.error == 0);
  }
  SECTION("too short to hold an nlmsgerr") {
    Datagram d;
    const int only = -EPERM;
    d.message(NLMSG_ERROR, 4, 0, std::as_bytes(std::span(&only, 1)));
    CHECK(scan_reply(d.bytes(), 4, nothing).error == EPROTO);
  }
  SECTION("a datagram that ends inside a message") {
    Datagram d;
    d.ack(4);
    const auto cut = d.bytes().first(d.bytes().size() - 4);
    CHECK_FALSE(scan_reply(cut, 4, nothing).framing.empty());
  }
}

TEST_CASE("already gone is success: EEXIST on add, ENOENT/ESRCH/ENODEV on delete") {
  CHECK(already_done(NeighbourWrite::kAdd, EEXIST));
  CHECK_FALSE(already_done(NeighbourWrite::kAdd, ENOENT));
  CHECK_FALSE(already_done(NeighbourWrite::kAdd, EPERM));
  CHECK(already_done(NeighbourWrite::kDelete, ENOENT));
  CHECK(already_done(NeighbourWrite::kDelete, ESRCH));
  CHECK(already_done(NeighbourWrite::kDelete, ENODEV));
  CHECK_FALSE(already_done(NeighbourWrite::kDelete, EEXIST));
  CHECK_FALSE(already_done(NeighbourWrite::kDelete, EPERM));
  CHECK_FALSE(already_done(NeighbourWrite::kOther, ENOENT));
  CHECK_FALSE(already_done(NeighbourWrite::kAdd, 0));
}

TEST_CASE(
    "adapter: add sends one NTF_PROXY NUD_PERMANENT request with our tag, and waits for "
    "its own ack") {
  Wire wire;
  FdDatagrams socket(wire.ours);
  NetlinkNeighbours port(socket, 7);
  Datagram late;
  late.ack(6, EPERM);  // the answer to an earlier request that was given up on
  wire.reply(late);
  Datagram ours;
  ours.ack(7);
  wire.reply(ours);
  CHECK(port.add_proxy(kEntry).ok());

  const auto request = wire.request();
  const auto* h = header_of(request);
  CHECK(h->nlmsg_type == RTM_NEWNEIGH);
  CHECK(h->nlmsg_seq == 7);
  CHECK(h->nlmsg_flags == (NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE));
  const auto* nd = static_cast<const ndmsg*>(nlmsg_data(h));
  CHECK(nd->ndm_family == AF_INET6);
  CHECK(nd->ndm_ifindex == 2);
  CHECK(nd->ndm_flags == NTF_PROXY);
  CHECK(nd->ndm_state == NUD_PERMANENT);
  // It reads back as the entry it was meant to install.
  const auto parsed = parse_message(h);
  REQUIRE(parsed.event);
  CHECK(std::get<ProxyEvent>(*parsed.event).entry == kEntry);
}

TEST_CASE("adapter: the kernel's errno reaches the caller, with what failed") {
  Wire wire;
  FdDatagrams socket(wire.ours);
  NetlinkNeighbours port(socket);
  SECTION("add: EEXIST is success, EPERM is not") {
    wire.reply(Datagram().ack(1, EEXIST));
    CHECK(port.add_proxy(kEntry).ok());
    wire.reply(Datagram().ack(2, EPERM));
    const auto status = port.add_proxy(kEntry);
    CHECK(status.error == EPERM);
    CHECK_THAT(status.message, ndpsync::testing::HasSubstring("add proxy 2001:db8::1") &&
                                   ndpsync::testing::HasSubstring("EPERM"));
  }
  SECTION("delete: ENOENT, ESRCH and ENODEV are success, EBUSY is not") {
    for (const auto& [seq, error] :
         {std::pair{1U, ENOENT}, std::pair{2U, ESRCH}, std::pair{3U, ENODEV}}) {
      wire.reply(Datagram().ack(seq, error));
      CHECK(port.delete_proxy(kEntry).ok());
    }
    wire.reply(Datagram().ack(4, EBUSY));
    CHECK(port.delete_proxy(kEntry).error == EBUSY);
    const auto request = wire.request();
    CHECK(header_of(request)->nlmsg_type == RTM_DELNEIGH);
    CHECK(static_cast<const ndmsg*>(nlmsg_data(header_of(request)))->ndm_flags == NTF_PROXY);
  }
  SECTION("probe: a gone entry is resolved with NTF_USE instead") {
    wire.reply(Datagram().ack(1, ENOENT));
    wire.reply(Datagram().ack(2));
    CHECK(port.probe_neighbour(4, ip("2001:db8::2")).ok());
    const auto first = wire.request();
    const auto second = wire.request();
    CHECK(static_cast<const ndmsg*>(nlmsg_data(header_of(first)))->ndm_state == NUD_PROBE);
    const auto* use = static_cast<const ndmsg*>(nlmsg_data(header_of(second)));
    CHECK(use->ndm_flags == NTF_USE);
    CHECK((header_of(second)->nlmsg_flags & NLM_F_CREATE) != 0);
  }
}

TEST_CASE("adapter: socket errors keep their errno") {
  Wire wire;
  FdDatagrams socket(wire.ours);
  NetlinkNeighbours port(socket);
  SECTION("send: the peer is gone (EPIPE, not EIO)") {
    close(wire.kernel);
    wire.kernel = -1;
    const auto status = port.add_proxy(kEntry);
    CHECK(status.error == EPIPE);
    CHECK_THAT(status.message, ndpsync::testing::HasSubstring("EPIPE"));
  }
  SECTION("receive: no answer") {
    timeval short_wait{.tv_sec = 0, .tv_usec = 50'000};
    setsockopt(wire.ours, SOL_SOCKET, SO_RCVTIMEO, &short_wait, sizeof(short_wait));
    CHECK(port.delete_proxy(kEntry).error == EAGAIN);
  }
  SECTION("receive: a datagram larger than the buffer") {
    std::vector<std::byte> big(40U << 10U);
    int size = 1 << 20;
    setsockopt(wire.kernel, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    REQUIRE(send(wire.kernel, big.data(), big.size(), 0) == static_cast<ssize_t>(big.size()));
    CHECK(port.add_proxy(kEntry).error == EMSGSIZE);
  }
  SECTION("receive: the peer closed") {
    shutdown(wire.kernel, SHUT_WR);
    CHECK(port.add_proxy(kEntry).error == EPROTO);
  }
}

TEST_CASE("adapter: a dump the table changed under runs again; only a clean run counts") {
  Wire wire;
  FdDatagrams socket(wire.ours);
  NetlinkNeighbours port(socket);
  SECTION("interrupted once") {
    wire.reply(Datagram().proxy(1, "2001:db8::a", NLM_F_MULTI | NLM_F_DUMP_INTR).done(1));
    wire.reply(Datagram().proxy(2, "2001:db8::b").proxy(2, "2001:db8::c"));
    wire.reply(Datagram().done(2));
    const auto result = port.dump_proxies();
    REQUIRE(result.ok());
    CHECK(result.value ==
          std::vector<ProxyEntry>{{2, ip("2001:db8::b"), 176}, {2, ip("2001:db8::c"), 176}});
    CHECK(wire.requests() == 2);
  }
  SECTION("interrupted every time: EAGAIN after five runs") {
    for (std::uint32_t seq = 1; seq <= 5; ++seq) {
      wire.reply(Datagram().proxy(seq, "2001:db8::a").done(seq, NLM_F_MULTI | NLM_F_DUMP_INTR));
    }
    const auto result = port.dump_proxies();
    CHECK(result.status.error == EAGAIN);
    CHECK(result.value.empty());
    CHECK(wire.requests() == 5);
  }
  SECTION("the dump request selects the proxy table") {
    wire.reply(Datagram().done(1));
    CHECK(port.dump_proxies().ok());
    const auto request = wire.request();
    CHECK(header_of(request)->nlmsg_flags == (NLM_F_REQUEST | NLM_F_DUMP));
    CHECK(static_cast<const ndmsg*>(nlmsg_data(header_of(request)))->ndm_flags == NTF_PROXY);
  }
  SECTION("an error ends it with the kernel's errno") {
    wire.reply(Datagram().proxy(1, "2001:db8::a").ack(1, EOPNOTSUPP));
    CHECK(port.dump_proxies().status.error == EOPNOTSUPP);
  }
  SECTION("a message that does not parse fails it, by name") {
    ndmsg nd{};
    nd.ndm_family = AF_INET6;
    nd.ndm_flags = NTF_PROXY;  // and no NDA_DST
    wire.reply(
        Datagram().message(RTM_NEWNEIGH, 1, NLM_F_MULTI, std::as_bytes(std::span(&nd, 1))).done(1));
    const auto result = port.dump_proxies();
    CHECK(result.status.error == EBADMSG);
    CHECK(result.status.message == "RTM_NEWNEIGH: no NDA_DST");
  }
}
