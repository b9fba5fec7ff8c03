#include "ndpsync/dad_listener.hpp"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace ndpsync {
namespace {

constexpr std::size_t kIpv6Header = 40;
constexpr std::size_t kNsLength = 24;  // type, code, checksum, reserved, target
constexpr std::uint8_t kIcmpv6 = 58;
constexpr std::uint8_t kNeighbourSolicitation = 135;
// DAD probes are 64 bytes, 72 with a nonce option (RFC 7527); anything longer than this
// buffer is not one.
constexpr std::size_t kBuffer = 256;
// Per readable wakeup: a flood must not keep the loop from its other work.
constexpr int kPerDrain = 64;

// The classic BPF program, run by the kernel on each packet (offsets from the IPv6 header:
// the socket is SOCK_DGRAM): ICMPv6 without extension headers, hop limit 255, source `::`,
// type 135. Everything else is dropped before it reaches us.
constexpr std::array<sock_filter, 16> kFilter = {{
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 6),  // next header
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kIcmpv6, 0, 12),
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 7),  // hop limit
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 255, 0, 10),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 8),  // source, four words
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 8), BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 12),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 6), BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 16),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 4), BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 20),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 2),
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 40),  // ICMPv6 type
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kNeighbourSolicitation, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, 0),        // drop
    BPF_STMT(BPF_RET | BPF_K, kBuffer),  // pass (at most this much of it)
}};

Status failure(const char* what) {
  const int error = errno;
  return {.error = error,
          .message = std::string("DAD listener: ") + what + ": " + errno_name(error)};
}

class DadListener final : public DadProbeSource {
 public:
  explicit DadListener(int fd) : fd_(fd) {}
  ~DadListener() override { ::close(fd_); }
  DadListener(const DadListener&) = delete;
  DadListener& operator=(const DadListener&) = delete;

  void drain(std::vector<DadProbe>& out) override {
    std::array<std::uint8_t, kBuffer> buffer{};
    for (int i = 0; i < kPerDrain; ++i) {
      sockaddr_ll from{};
      socklen_t from_len = sizeof(from);
      const auto n = ::recvfrom(fd_, buffer.data(), buffer.size(), MSG_DONTWAIT | MSG_TRUNC,
                                reinterpret_cast<sockaddr*>(&from), &from_len);
      if (n < 0) return;  // EAGAIN: all read; anything else: the next wakeup tries again
      // The host's own DAD probes leave through the same interfaces: only received ones count.
      if (from.sll_pkttype == PACKET_OUTGOING) continue;
      if (static_cast<std::size_t>(n) > buffer.size()) continue;  // oversized: not a DAD probe
      const auto target = parse_dad_probe(std::span(buffer.data(), static_cast<std::size_t>(n)));
      if (target) out.push_back({static_cast<IfIndex>(from.sll_ifindex), *target});
    }
  }

  [[nodiscard]] int fd() const override { return fd_; }

 private:
  int fd_;
};

}  // namespace

std::optional<Ipv6Address> parse_dad_probe(std::span<const std::uint8_t> packet) {
  if (packet.size() < kIpv6Header + kNsLength) return std::nullopt;
  if ((packet[0] >> 4) != 6) return std::nullopt;
  const std::size_t payload = (std::size_t{packet[4]} << 8) | packet[5];
  if (payload < kNsLength || payload > packet.size() - kIpv6Header) return std::nullopt;
  if (packet[6] != kIcmpv6 || packet[7] != 255) return std::nullopt;
  for (std::size_t i = 8; i < 24; ++i) {
    if (packet[i] != 0) return std::nullopt;  // a DAD probe comes from ::
  }
  const auto icmp = packet.subspan(kIpv6Header);
  if (icmp[0] != kNeighbourSolicitation || icmp[1] != 0) return std::nullopt;
  Ipv6Address::Bytes bytes{};
  std::memcpy(bytes.data(), icmp.data() + 8, bytes.size());
  const Ipv6Address target(bytes);
  if (target.is_multicast() || target.is_link_local() || target.is_unspecified() ||
      target.is_loopback()) {
    return std::nullopt;
  }
  return target;
}

Result<std::unique_ptr<DadProbeSource>> open_dad_listener() {
  const int fd = ::socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_IPV6));
  if (fd < 0) return {.status = failure("socket(AF_PACKET)")};
  auto listener = std::make_unique<DadListener>(fd);
  sock_fprog program{.len = static_cast<unsigned short>(kFilter.size()),
                     .filter = const_cast<sock_filter*>(kFilter.data())};
  if (::setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof(program)) < 0) {
    return {.status = failure("attach filter")};
  }
  // Packets queued between socket() and the filter passed no filter: read them away.
  std::array<std::uint8_t, 16> scratch{};
  while (::recv(fd, scratch.data(), scratch.size(), MSG_DONTWAIT | MSG_TRUNC) >= 0) {
  }
  return {.value = std::move(listener)};
}

}  // namespace ndpsync
