// The DAD-probe half of the kernel seam: Duplicate Address Detection probes (a neighbour
// solicitation from `::`) that nodes on the host's interfaces send for each new address, as a
// PacketSource yields them.
#pragma once

#include "ndpsync/packet_source.hpp"
#include "ndpsync/types.hpp"

namespace ndpsync {

struct DadProbe {
  IfIndex ifindex = 0;  // where it arrived
  Ipv6Address target;   // the address being probed
  auto operator<=>(const DadProbe&) const = default;
};

using DadProbeSource = PacketSource<DadProbe>;

}  // namespace ndpsync
