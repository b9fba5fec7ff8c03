#include "ndpsync/dad_listener.hpp"

#include "ndpsync/bpf_program.hpp"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

namespace ndpsync {
namespace {

constexpr std::size_t kIpv6Header = 40;
constexpr std::size_t kNsLength = 24;  // type, code, checksum, reserved, target
constexpr std::uint8_t kIcmpv6 = 58;
constexpr std::uint8_t kNeighbourAdvertisement = 136;
constexpr std::uint8_t kTargetLinkAddressOption = 2;
// A solicitation is 64 to 104 bytes (with a source link-layer address and a nonce option);
// anything longer than this buffer is not one.
constexpr std::size_t kBuffer = kPassBytes;
// Per readable wakeup: a flood must not keep the loop from its other work.
constexpr int kPerDrain = 64;

Status failure(const char* who, const char* what) {
  const int error = errno;
  return {.error = error, .message = std::string(who) + ": " + what + ": " + errno_name(error)};
}

Status attach(int fd, const std::vector<sock_filter>& code) {
  sock_fprog program{.len = static_cast<unsigned short>(code.size()),
                     .filter = const_cast<sock_filter*>(code.data())};
  if (::setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof(program)) < 0) {
    return failure("packet listener", "attach filter");
  }
  return {};
}

// Reads away what is queued, without looking at it; returns how many packets that was.
std::size_t discard_queue(int fd) {
  std::array<std::uint8_t, 16> scratch{};
  std::size_t n = 0;
  while (::recv(fd, scratch.data(), scratch.size(), MSG_DONTWAIT | MSG_TRUNC) >= 0) ++n;
  return n;
}

std::optional<DadProbe> parse_dad_item(std::span<const std::uint8_t> packet) {
  const auto target = parse_dad_probe(packet);
  if (!target) return std::nullopt;
  return DadProbe{.target = *target};
}

// One AF_PACKET socket and its parser; `Port` is the seam it implements.
template <typename Port, typename Item, std::optional<Item> (*Parse)(std::span<const std::uint8_t>),
          NsListener Kind>
class PacketListener final : public Port {
 public:
  explicit PacketListener(int fd) : fd_(fd) {}
  ~PacketListener() override { ::close(fd_); }
  PacketListener(const PacketListener&) = delete;
  PacketListener& operator=(const PacketListener&) = delete;

  void drain(std::vector<Item>& out) override {
    std::array<std::uint8_t, kBuffer> buffer{};
    for (int i = 0; i < kPerDrain; ++i) {
      sockaddr_ll from{};
      socklen_t from_len = sizeof(from);
      const auto n = ::recvfrom(fd_, buffer.data(), buffer.size(), MSG_DONTWAIT | MSG_TRUNC,
                                reinterpret_cast<sockaddr*>(&from), &from_len);
      if (n < 0) return;  // EAGAIN: all read; anything else: the next wakeup tries again
      // The host's own solicitations leave through the same interfaces: only received ones count.
      if (from.sll_pkttype == PACKET_OUTGOING) continue;
      if (static_cast<std::size_t>(n) > buffer.size()) continue;  // oversized: not an NS
      auto item = Parse(std::span(buffer.data(), static_cast<std::size_t>(n)));
      if (!item) continue;
      item->ifindex = static_cast<IfIndex>(from.sll_ifindex);
      if constexpr (requires { item->source_mac; }) {
        item->source_mac = LinkAddress(from.sll_addr, std::min<std::size_t>(from.sll_halen, 8));
      }
      out.push_back(*item);
    }
  }

  [[nodiscard]] int fd() const override { return fd_; }

  Status set_filter(const PacketFilter& filter) override {
    auto program = build_ns_filter(Kind, filter, max_insns_);
    if (!paused_) {
      if (auto status = attach_program(program, filter); !status.ok()) return status;
    }
    program_ = std::move(program);
    filter_ = filter;
    return {};
  }

  std::size_t pause() override {
    if (paused_ || !attach(fd_, drop_all_filter()).ok()) return 0;
    paused_ = true;
    return discard_queue(fd_);
  }

  Status resume() override {
    if (!paused_) return {};
    if (auto status = attach_program(program_, filter_); !status.ok()) return status;
    paused_ = false;
    return {};
  }

  [[nodiscard]] bool targets_filtered() const override { return program_.targets_filtered; }

 private:
  // The kernel charges a filter, as the eBPF it converts it to, to the socket's option memory
  // (net.core.optmem_max, 128 KiB by default since Linux 6.8, 20 KiB before): a classic program
  // of some 1,800 instructions takes 64 KiB, and while SO_ATTACH_FILTER swaps, the old program
  // still counts. A target list that does not fit (ENOMEM) goes through the program without
  // targets, which always fits, and is tried once more on its own; if it still fails, that
  // length is the socket's ceiling from then on, and such tables are left to userspace, as a
  // table too long for BPF_MAXINSNS is.
  Status attach_program(BpfProgram& program, const PacketFilter& filter) {
    auto status = attach(fd_, program.code);
    if (status.ok() || status.error != ENOMEM || !program.targets_filtered ||
        filter.answered.empty()) {
      return status;
    }
    auto without_targets = build_ns_filter(Kind, filter, 0);
    if (auto fallback = attach(fd_, without_targets.code); !fallback.ok()) return fallback;
    if (attach(fd_, program.code).ok()) return {};
    max_insns_ = program.code.size() - 1;
    program = std::move(without_targets);
    return {};
  }

  int fd_;
  BpfProgram program_ = build_ns_filter(Kind, {});
  PacketFilter filter_;
  std::size_t max_insns_ = BPF_MAXINSNS;
  bool paused_ = false;
};

template <typename Listener, typename Port>
Result<std::unique_ptr<Port>> open_listener(const char* who) {
  const int fd = ::socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_IPV6));
  if (fd < 0) return {.status = failure(who, "socket(AF_PACKET)")};
  auto listener = std::make_unique<Listener>(fd);
  // Every interface until the agent knows which ones it listens on.
  if (!listener->set_filter({}).ok()) return {.status = failure(who, "attach filter")};
  // Packets queued between socket() and the filter passed no filter: read them away.
  discard_queue(fd);
  return {.value = std::move(listener)};
}

// Adverts leave by a packet socket that receives nothing (protocol 0): the IPv6 header is ours,
// so the unit's IPAddressDeny (a filter on IP sockets) does not apply, and no AF_INET6 socket is
// needed. The same socket holds the uplinks' all-multicast references (PACKET_MR_ALLMULTI, as
// tcpdump holds promiscuity): they live as long as the descriptor, so not even a SIGKILL leaves
// one behind, and an admin's own IFF_ALLMULTI is neither read nor touched.
class PacketAdverts final : public AdvertPort {
 public:
  explicit PacketAdverts(int fd) : fd_(fd) {}
  ~PacketAdverts() override { ::close(fd_); }
  PacketAdverts(const PacketAdverts&) = delete;
  PacketAdverts& operator=(const PacketAdverts&) = delete;

  Status advertise(const Advert& a) override {
    // RFC 4861 4.4: type, code, checksum, flags, target, and the target link-layer address
    // option, padded to eight bytes; behind an IPv6 header with hop limit 255.
    std::array<std::uint8_t, kIpv6Header + kNsLength + 8 + LinkAddress::kCapacity> packet{};
    auto icmp = std::span(packet).subspan(kIpv6Header);
    icmp[0] = kNeighbourAdvertisement;
    icmp[4] = static_cast<std::uint8_t>((a.router ? 0x80 : 0) | (a.solicited ? 0x40 : 0) |
                                        (a.override ? 0x20 : 0));
    std::memcpy(icmp.data() + 8, a.target.bytes().data(), 16);
    std::size_t length = kNsLength;
    if (!a.lladdr.empty()) {
      const std::size_t units = (2 + a.lladdr.size() + 7) / 8;
      icmp[length] = kTargetLinkAddressOption;
      icmp[length + 1] = static_cast<std::uint8_t>(units);
      std::memcpy(icmp.data() + length + 2, a.lladdr.data(), a.lladdr.size());
      length += units * 8;
    }
    const auto sum = icmpv6_checksum(a.source, a.destination, icmp.first(length));
    icmp[2] = static_cast<std::uint8_t>(sum >> 8);
    icmp[3] = static_cast<std::uint8_t>(sum & 0xff);
    packet[0] = 0x60;
    packet[4] = static_cast<std::uint8_t>(length >> 8);
    packet[5] = static_cast<std::uint8_t>(length & 0xff);
    packet[6] = kIcmpv6;
    packet[7] = 255;
    std::memcpy(packet.data() + 8, a.source.bytes().data(), 16);
    std::memcpy(packet.data() + 24, a.destination.bytes().data(), 16);

    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_protocol = htons(ETH_P_IPV6);
    to.sll_ifindex = a.ifindex;
    if (a.destination.is_multicast()) {  // RFC 2464 7: 33:33 and the low 32 bits
      const auto& d = a.destination.bytes();
      const std::array<std::uint8_t, 6> mac = {0x33, 0x33, d[12], d[13], d[14], d[15]};
      std::memcpy(to.sll_addr, mac.data(), mac.size());
      to.sll_halen = mac.size();
    } else {
      if (a.destination_mac.empty() || a.destination_mac.size() > sizeof(to.sll_addr)) {
        errno = EDESTADDRREQ;
        return failure("advert", "no link-layer destination");
      }
      std::memcpy(to.sll_addr, a.destination_mac.data(), a.destination_mac.size());
      to.sll_halen = static_cast<unsigned char>(a.destination_mac.size());
    }
    if (::sendto(fd_, packet.data(), kIpv6Header + length, MSG_DONTWAIT,
                 reinterpret_cast<const sockaddr*>(&to), sizeof(to)) < 0) {
      return failure("advert", "sendto");
    }
    return {};
  }

  Status hold_allmulti(IfIndex ifindex, bool on) override {
    packet_mreq request{};
    request.mr_ifindex = ifindex;
    request.mr_type = PACKET_MR_ALLMULTI;
    if (::setsockopt(fd_, SOL_PACKET, on ? PACKET_ADD_MEMBERSHIP : PACKET_DROP_MEMBERSHIP, &request,
                     sizeof(request)) < 0) {
      return failure("ALLMULTI", on ? "PACKET_ADD_MEMBERSHIP" : "PACKET_DROP_MEMBERSHIP");
    }
    return {};
  }

 private:
  int fd_;
};

}  // namespace

Result<std::unique_ptr<DadProbeSource>> open_dad_listener() {
  return open_listener<PacketListener<DadProbeSource, DadProbe, parse_dad_item, NsListener::kDad>,
                       DadProbeSource>("DAD listener");
}

Result<std::unique_ptr<SolicitationSource>> open_solicitation_listener() {
  return open_listener<PacketListener<SolicitationSource, Solicitation, parse_solicitation,
                                      NsListener::kSolicitation>,
                       SolicitationSource>("solicitation listener");
}

Result<std::unique_ptr<AdvertPort>> open_advert_port() {
  // Protocol 0: the socket only sends.
  const int fd = ::socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return {.status = failure("advert socket", "socket(AF_PACKET)")};
  return {.value = std::make_unique<PacketAdverts>(fd)};
}

}  // namespace ndpsync
