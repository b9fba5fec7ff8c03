// The packet listeners: one AF_PACKET socket each, its kernel-side filter (bpf_program.hpp)
// and its parser (ns_parse.hpp), behind the one PacketSource interface.
#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>

#include "ndpsync/bpf_program.hpp"
#include "ndpsync/ns_parse.hpp"
#include "ndpsync/packet_sockets.hpp"

namespace ndpsync {
namespace {

// A solicitation is 64 to 104 bytes (with a source link-layer address and a nonce option);
// anything longer than this buffer is not one.
constexpr std::size_t kBuffer = kPassBytes;
// Per readable wakeup: a flood must not keep the loop from its other work.
constexpr int kPerDrain = 64;

Status attach(int fd, const std::vector<sock_filter>& code) {
  sock_fprog program{.len = static_cast<unsigned short>(code.size()),
                     .filter = const_cast<sock_filter*>(code.data())};
  if (::setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof(program)) < 0) {
    return errno_status("packet listener", "attach filter");
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

// One AF_PACKET socket, the filter program `Kind` and the parser `Parse`.
template <typename Item, std::optional<Item> (*Parse)(std::span<const std::uint8_t>),
          NsListener Kind>
class PacketListener final : public PacketSource<Item> {
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

template <typename Item, std::optional<Item> (*Parse)(std::span<const std::uint8_t>),
          NsListener Kind>
Result<std::unique_ptr<PacketSource<Item>>> open_listener(const char* who) {
  const int fd = ::socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_IPV6));
  if (fd < 0) return {.status = errno_status(who, "socket(AF_PACKET)")};
  auto listener = std::make_unique<PacketListener<Item, Parse, Kind>>(fd);
  // Every interface until the agent knows which ones it listens on.
  if (!listener->set_filter({}).ok()) return {.status = errno_status(who, "attach filter")};
  // Packets queued between socket() and the filter passed no filter: read them away.
  discard_queue(fd);
  return {.value = std::move(listener)};
}

}  // namespace

Result<std::unique_ptr<DadProbeSource>> open_dad_listener() {
  return open_listener<DadProbe, parse_dad_item, NsListener::kDad>("DAD listener");
}

Result<std::unique_ptr<SolicitationSource>> open_solicitation_listener() {
  return open_listener<Solicitation, parse_solicitation, NsListener::kSolicitation>(
      "solicitation listener");
}

}  // namespace ndpsync
