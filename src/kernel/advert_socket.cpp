// Adverts leave by a packet socket that receives nothing (protocol 0): the IPv6 header is ours,
// so the unit's IPAddressDeny (a filter on IP sockets) does not apply, and no AF_INET6 socket is
// needed. The same socket holds the uplinks' all-multicast references (allmulti.hpp): they live
// as long as the descriptor.
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "allmulti.hpp"
#include "ndpsync/na_builder.hpp"
#include "ndpsync/packet_sockets.hpp"

namespace ndpsync {
namespace {

// Where on the link `a` goes: for a multicast destination its MAC by RFC 2464 7 (33:33 and the
// low 32 bits), otherwise the solicitor's. False when there is none that fits.
bool link_destination(const Advert& a, sockaddr_ll& to) {
  if (a.destination.is_multicast()) {
    const auto& d = a.destination.bytes();
    const std::array<std::uint8_t, 6> mac = {0x33, 0x33, d[12], d[13], d[14], d[15]};
    std::memcpy(to.sll_addr, mac.data(), mac.size());
    to.sll_halen = mac.size();
    return true;
  }
  if (a.destination_mac.empty() || a.destination_mac.size() > sizeof(to.sll_addr)) return false;
  std::memcpy(to.sll_addr, a.destination_mac.data(), a.destination_mac.size());
  to.sll_halen = static_cast<unsigned char>(a.destination_mac.size());
  return true;
}

class PacketAdverts final : public AdvertPort {
 public:
  explicit PacketAdverts(int fd) : fd_(fd) {}
  ~PacketAdverts() override { ::close(fd_); }
  PacketAdverts(const PacketAdverts&) = delete;
  PacketAdverts& operator=(const PacketAdverts&) = delete;

  Status advertise(const Advert& a) override {
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_protocol = htons(ETH_P_IPV6);
    to.sll_ifindex = a.ifindex;
    if (!link_destination(a, to)) {
      errno = EDESTADDRREQ;
      return errno_status("advert", "no link-layer destination");
    }
    const auto na = build_na(a);
    if (::sendto(fd_, na.bytes.data(), na.size, MSG_DONTWAIT,
                 reinterpret_cast<const sockaddr*>(&to), sizeof(to)) < 0) {
      return errno_status("advert", "sendto");
    }
    return {};
  }

  Status hold_allmulti(IfIndex ifindex, AllmultiRef ref) override {
    return packet_allmulti(fd_, ifindex, ref == AllmultiRef::kTake);
  }

 private:
  int fd_;
};

}  // namespace

Result<std::unique_ptr<AdvertPort>> open_advert_port() {
  // Protocol 0: the socket only sends.
  const int fd = ::socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return {.status = errno_status("advert socket", "socket(AF_PACKET)")};
  return {.value = std::make_unique<PacketAdverts>(fd)};
}

}  // namespace ndpsync
