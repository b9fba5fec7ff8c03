// The DAD-probe half of the kernel seam: Duplicate Address Detection probes (a neighbour
// solicitation from `::`) that nodes on the host's interfaces send for each new address. The
// packet listener in the kernel layer implements it; test/unit has a fake that is fed by hand.
#pragma once

#include <vector>

#include "ndpsync/packet_filter.hpp"
#include "ndpsync/types.hpp"

namespace ndpsync {

struct DadProbe {
  IfIndex ifindex = 0;  // where it arrived
  Ipv6Address target;   // the address being probed
  auto operator<=>(const DadProbe&) const = default;
};

class DadProbeSource : public FilteredSocket {
 public:
  virtual ~DadProbeSource() = default;
  // Appends the probes that arrived since the last call, without blocking.
  virtual void drain(std::vector<DadProbe>& out) = 0;
  // A pollable descriptor that turns readable when probes wait.
  [[nodiscard]] virtual int fd() const = 0;
};

}  // namespace ndpsync
