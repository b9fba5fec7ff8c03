// The uplink half of on-demand discovery: neighbour solicitations that arrive on an uplink for
// addresses we do not proxy (a router resolving a container that never spoke), as a PacketSource
// yields them, and the neighbour advertisements ndpsync sends itself. The packet sockets in the
// kernel layer implement both; test/unit has fakes that are fed and read by hand.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ndpsync/packet_source.hpp"
#include "ndpsync/result.hpp"
#include "ndpsync/types.hpp"

namespace ndpsync {

struct Solicitation {
  IfIndex ifindex = 0;     // where it arrived
  Ipv6Address source;      // who asks (never `::`: DAD probes are the other listener's)
  Ipv6Address target;      // the address it resolves
  LinkAddress source_mac;  // the frame's link-layer source: where an answer goes
  auto operator<=>(const Solicitation&) const = default;
};

using SolicitationSource = PacketSource<Solicitation>;

// A neighbour advertisement for `target`, carrying `lladdr` as its target link-layer address.
struct Advert {
  IfIndex ifindex = 0;
  Ipv6Address source;           // the uplink's link-local address
  Ipv6Address destination;      // the solicitor, or ff02::1 for an unsolicited one
  LinkAddress destination_mac;  // the solicitor's; for a multicast destination, derived from it
  Ipv6Address target;
  LinkAddress lladdr;
  bool router = false;     // R: the host forwards
  bool solicited = false;  // S: the answer to a solicitation
  bool override = false;   // O: replace the link-layer address a neighbour cached
  auto operator<=>(const Advert&) const = default;
};

// What hold_allmulti() does with the agent's all-multicast reference on an interface.
enum class AllmultiRef : std::uint8_t { kTake, kRelease };

class AdvertPort {
 public:
  virtual ~AdvertPort() = default;
  virtual Status advertise(const Advert& advert) = 0;
  // Takes (or lets go of) an all-multicast reference on `ifindex`: the kernel counts it beside
  // the admin's IFF_ALLMULTI and drops it when the socket closes, however the process ends.
  virtual Status hold_allmulti(IfIndex ifindex, AllmultiRef ref) = 0;
};

}  // namespace ndpsync
