// libFuzzer target: arbitrary bytes as a packet from either packet listener's socket (IPv6
// header first), through both parsers. Whatever they return must be something the agent may
// judge: a proxiable target, and for a solicitation a unicast, specified source; and the packet
// must be one the kernel accepts (RFC 4861 7.1.1), checked here independently of the parser:
// hop limit 255, code 0, a right checksum, and for a DAD probe no source link-layer address
// option and the target's solicited-node group as destination.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "ndpsync/ndp_wire.hpp"
#include "ndpsync/ns_parse.hpp"

namespace {

bool proxiable(const ndpsync::Ipv6Address& a) {
  return !a.is_multicast() && !a.is_link_local() && !a.is_unspecified() && !a.is_loopback();
}

// What RFC 4861 7.1.1 asks of any NS the parsers accepted. Only called on accepted packets,
// which are at least 64 bytes with a payload length that fits.
bool valid_ns(std::span<const std::uint8_t> p, bool dad) {
  const std::size_t payload = (std::size_t{p[4]} << 8) | p[5];
  const auto icmp = p.subspan(40, payload);
  ndpsync::Ipv6Address::Bytes source{};
  ndpsync::Ipv6Address::Bytes destination{};
  std::copy(p.begin() + 8, p.begin() + 24, source.begin());
  std::copy(p.begin() + 24, p.begin() + 40, destination.begin());
  if (p[7] != 255 || icmp[1] != 0) return false;
  if (ndpsync::icmpv6_checksum(ndpsync::Ipv6Address(source), ndpsync::Ipv6Address(destination),
                               icmp) != 0) {
    return false;
  }
  for (std::size_t at = 24; at < icmp.size(); at += std::size_t{icmp[at + 1]} * 8) {
    if (at + 2 > icmp.size() || icmp[at + 1] == 0) return false;
    if (dad && icmp[at] == 1) return false;  // a source link-layer address on a DAD probe
  }
  if (!dad) return true;
  const std::array<std::uint8_t, 13> group = {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff};
  return std::equal(group.begin(), group.end(), destination.begin()) &&
         std::equal(destination.begin() + 13, destination.end(), icmp.begin() + 8 + 13);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span packet(data, size);
  const auto target = ndpsync::parse_dad_probe(packet);
  if (target && (!proxiable(*target) || !valid_ns(packet, true))) std::abort();
  const auto ns = ndpsync::parse_solicitation(packet);
  if (ns && (!proxiable(ns->target) || ns->source.is_unspecified() || ns->source.is_multicast() ||
             !valid_ns(packet, false))) {
    std::abort();
  }
  if (target && ns) std::abort();  // a DAD probe is never also an address resolution
  return 0;
}
