#include "ndpsync/ndp_wire.hpp"

namespace ndpsync {

std::uint16_t icmpv6_checksum(const Ipv6Address& source, const Ipv6Address& destination,
                              std::span<const std::uint8_t> message) {
  std::uint32_t sum = 0;
  const auto add = [&sum](std::span<const std::uint8_t> bytes) {
    for (std::size_t i = 0; i < bytes.size(); i += 2) {
      sum += (std::uint32_t{bytes[i]} << 8) | (i + 1 < bytes.size() ? bytes[i + 1] : 0);
    }
  };
  add(source.bytes());
  add(destination.bytes());
  sum += static_cast<std::uint32_t>(message.size() >> 16) +
         static_cast<std::uint32_t>(message.size() & 0xffff) + kIcmpv6;
  add(message);
  while ((sum >> 16) != 0) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

}  // namespace ndpsync
