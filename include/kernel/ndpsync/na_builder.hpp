// A neighbour advertisement as it leaves the advert socket: the IPv6 header is ours (the socket
// is SOCK_DGRAM, so the kernel adds only the link-layer header), with hop limit 255, then the
// ICMPv6 message with its checksum. Pure, so that a unit test reads it back with the parsers'
// checks.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "ndpsync/ndp_wire.hpp"
#include "ndpsync/solicitation_port.hpp"

namespace ndpsync {

struct NaPacket {
  // The header, the NA, and a target link-layer address option padded to eight bytes.
  std::array<std::uint8_t, kIpv6Header + kNsLength + 8 + LinkAddress::kCapacity> bytes{};
  std::size_t size = 0;
  [[nodiscard]] std::span<const std::uint8_t> packet() const {
    return std::span(bytes).first(size);
  }
};

// RFC 4861 4.4: the advert's flags and target, and its `lladdr` as the target link-layer address
// option (none when it is empty), from `advert.source` to `advert.destination`.
NaPacket build_na(const Advert& advert);

}  // namespace ndpsync
