// libFuzzer target: arbitrary bytes as a packet from either packet listener's socket (IPv6
// header first), through both parsers. Whatever they return must be something the agent may
// judge: a proxiable target, and for a solicitation a unicast, specified source.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "ndpsync/dad_listener.hpp"

namespace {

bool proxiable(const ndpsync::Ipv6Address& a) {
  return !a.is_multicast() && !a.is_link_local() && !a.is_unspecified() && !a.is_loopback();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span packet(data, size);
  const auto target = ndpsync::parse_dad_probe(packet);
  if (target && !proxiable(*target)) std::abort();
  const auto ns = ndpsync::parse_solicitation(packet);
  if (ns && (!proxiable(ns->target) || ns->source.is_unspecified() || ns->source.is_multicast())) {
    std::abort();
  }
  if (target && ns) std::abort();  // a DAD probe is never also an address resolution
  return 0;
}
