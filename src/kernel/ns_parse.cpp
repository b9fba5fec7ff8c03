#include "ndpsync/ns_parse.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "ndpsync/ndp_wire.hpp"

namespace ndpsync {
namespace {

// The fields of a valid neighbour solicitation both listeners need.
struct ParsedNs {
  Ipv6Address source;
  Ipv6Address destination;
  Ipv6Address target;
  bool source_link_address = false;  // the source link-layer address option is present
};

Ipv6Address address_at(std::span<const std::uint8_t> bytes) {
  Ipv6Address::Bytes a{};
  std::memcpy(a.data(), bytes.data(), a.size());
  return Ipv6Address(a);
}

// The options after the target, as ndisc_parse_options walks them: each at least two bytes
// long, of a non-zero length in units of eight bytes, within the message. nullopt: malformed;
// otherwise whether a source link-layer address option is among them.
std::optional<bool> walk_options(std::span<const std::uint8_t> options) {
  bool source_link_address = false;
  while (!options.empty()) {
    if (options.size() < 2) return std::nullopt;
    const std::size_t length = std::size_t{options[1]} * 8;
    if (length == 0 || length > options.size()) return std::nullopt;
    source_link_address = source_link_address || options[0] == kSourceLinkAddressOption;
    options = options.subspan(length);
  }
  return source_link_address;
}

bool is_solicited_node_group_of(const Ipv6Address& group, const Ipv6Address& target) {
  static constexpr std::array<std::uint8_t, 13> kPrefix = {0xff, 0x02, 0, 0, 0, 0,   0,
                                                           0,    0,    0, 0, 1, 0xff};
  const auto& g = group.bytes();
  const auto& t = target.bytes();
  return std::equal(kPrefix.begin(), kPrefix.end(), g.begin()) &&
         std::equal(g.begin() + 13, g.end(), t.begin() + 13);
}

std::optional<ParsedNs> parse_ns(std::span<const std::uint8_t> packet) {
  if (packet.size() < kIpv6Header + kNsLength) return std::nullopt;
  if ((packet[0] >> 4) != 6) return std::nullopt;
  const std::size_t payload =
      (std::size_t{packet[kPayloadLengthOffset]} << 8) | packet[kPayloadLengthOffset + 1];
  if (payload < kNsLength || payload > packet.size() - kIpv6Header) return std::nullopt;
  // Hop limit 255: the packet was not forwarded from another link.
  if (packet[kNextHeaderOffset] != kIcmpv6 || packet[kHopLimitOffset] != kNdpHopLimit) {
    return std::nullopt;
  }
  const auto icmp = packet.subspan(kIpv6Header, payload);
  if (icmp[0] != kNeighbourSolicitation || icmp[1] != 0) return std::nullopt;
  ParsedNs ns{.source = address_at(packet.subspan(kSourceOffset)),
              .destination = address_at(packet.subspan(kDestinationOffset)),
              .target = address_at(icmp.subspan(kTargetOffset))};
  const auto options = walk_options(icmp.subspan(kNsLength));
  if (!options) return std::nullopt;
  ns.source_link_address = *options;
  // With the checksum field in place, the sum of a valid message is all ones.
  if (icmpv6_checksum(ns.source, ns.destination, icmp) != 0) return std::nullopt;
  const auto& t = ns.target;
  if (t.is_multicast() || t.is_link_local() || t.is_unspecified() || t.is_loopback()) {
    return std::nullopt;
  }
  return ns;
}

}  // namespace

std::optional<Ipv6Address> parse_dad_probe(std::span<const std::uint8_t> packet) {
  const auto ns = parse_ns(packet);
  // A DAD probe comes from ::, carries no source link-layer address (RFC 4861 7.1.1: there is
  // none to cache) and goes to the target's solicited-node group (RFC 4862 5.4.2).
  if (!ns || !ns->source.is_unspecified() || ns->source_link_address ||
      !is_solicited_node_group_of(ns->destination, ns->target)) {
    return std::nullopt;
  }
  return ns->target;
}

std::optional<Solicitation> parse_solicitation(std::span<const std::uint8_t> packet) {
  const auto ns = parse_ns(packet);
  if (!ns || ns->source.is_unspecified() || ns->source.is_multicast()) return std::nullopt;
  return Solicitation{.source = ns->source, .target = ns->target};
}

}  // namespace ndpsync
