#include "ndpsync/na_builder.hpp"

#include <cstring>

namespace ndpsync {
namespace {

constexpr std::uint8_t kRouterFlag = 0x80;
constexpr std::uint8_t kSolicitedFlag = 0x40;
constexpr std::uint8_t kOverrideFlag = 0x20;

void put_address(std::span<std::uint8_t> at, const Ipv6Address& address) {
  std::memcpy(at.data(), address.bytes().data(), address.bytes().size());
}

}  // namespace

NaPacket build_na(const Advert& a) {
  NaPacket na;
  auto icmp = std::span(na.bytes).subspan(kIpv6Header);
  icmp[0] = kNeighbourAdvertisement;
  icmp[kFlagsOffset] =
      static_cast<std::uint8_t>((a.router ? kRouterFlag : 0) | (a.solicited ? kSolicitedFlag : 0) |
                                (a.override ? kOverrideFlag : 0));
  put_address(icmp.subspan(kTargetOffset), a.target);
  std::size_t length = kNsLength;
  if (!a.lladdr.empty()) {
    const std::size_t units = (2 + a.lladdr.size() + 7) / 8;
    icmp[length] = kTargetLinkAddressOption;
    icmp[length + 1] = static_cast<std::uint8_t>(units);
    std::memcpy(icmp.data() + length + 2, a.lladdr.data(), a.lladdr.size());
    length += units * 8;
  }
  const auto sum = icmpv6_checksum(a.source, a.destination, icmp.first(length));
  icmp[kChecksumOffset] = static_cast<std::uint8_t>(sum >> 8);
  icmp[kChecksumOffset + 1] = static_cast<std::uint8_t>(sum & 0xff);
  na.bytes[0] = 0x60;  // version 6
  na.bytes[kPayloadLengthOffset] = static_cast<std::uint8_t>(length >> 8);
  na.bytes[kPayloadLengthOffset + 1] = static_cast<std::uint8_t>(length & 0xff);
  na.bytes[kNextHeaderOffset] = kIcmpv6;
  na.bytes[kHopLimitOffset] = kNdpHopLimit;
  put_address(std::span(na.bytes).subspan(kSourceOffset), a.source);
  put_address(std::span(na.bytes).subspan(kDestinationOffset), a.destination);
  na.size = kIpv6Header + length;
  return na;
}

}  // namespace ndpsync
