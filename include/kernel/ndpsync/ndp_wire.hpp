// The wire format the packet sockets read and write: neighbour solicitations and advertisements
// (RFC 4861 4.3, 4.4) behind a fixed IPv6 header (RFC 8200 3), as a SOCK_DGRAM packet socket
// hands them over (no link-layer header). One place for the offsets and numbers that the
// parsers, the BPF programs and the advert builder all read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "ndpsync/types.hpp"

namespace ndpsync {

// The IPv6 header, offsets from its start.
inline constexpr std::size_t kIpv6Header = 40;
inline constexpr std::size_t kPayloadLengthOffset = 4;
inline constexpr std::size_t kNextHeaderOffset = 6;
inline constexpr std::size_t kHopLimitOffset = 7;
inline constexpr std::size_t kSourceOffset = 8;
inline constexpr std::size_t kDestinationOffset = 24;

inline constexpr std::uint8_t kIcmpv6 = 58;  // next header
// Hop limit 255 on every NS and NA: a receiver drops one that was forwarded from another link.
inline constexpr std::uint8_t kNdpHopLimit = 255;

// The ICMPv6 message, offsets from its start: type, code, checksum, flags (an NA's; an NS's
// are reserved), target, then options of eight-byte units.
inline constexpr std::size_t kNsLength = 24;  // an NS or NA without options
inline constexpr std::size_t kChecksumOffset = 2;
inline constexpr std::size_t kFlagsOffset = 4;
inline constexpr std::size_t kTargetOffset = 8;

inline constexpr std::uint8_t kNeighbourSolicitation = 135;
inline constexpr std::uint8_t kNeighbourAdvertisement = 136;
inline constexpr std::uint8_t kSourceLinkAddressOption = 1;
inline constexpr std::uint8_t kTargetLinkAddressOption = 2;

// The ICMPv6 checksum (RFC 4443 2.3) of `message` between these addresses; over a message with
// its checksum field filled in, 0 when that checksum is right.
std::uint16_t icmpv6_checksum(const Ipv6Address& source, const Ipv6Address& destination,
                              std::span<const std::uint8_t> message);

}  // namespace ndpsync
