// A packet listener as the agent sees it: a socket whose kernel-side filter the agent steers
// (FilteredSocket), that yields what it parsed from each packet. One interface for both
// listeners: DAD snooping's (Item = DadProbe, dad_port.hpp) and on-demand discovery's
// (Item = Solicitation, solicitation_port.hpp). The packet sockets in the kernel layer implement
// it; test/unit has a fake that is fed by hand.
#pragma once

#include <vector>

#include "ndpsync/packet_filter.hpp"

namespace ndpsync {

template <typename Item>
class PacketSource : public FilteredSocket {
 public:
  // Appends what arrived since the last call, without blocking.
  virtual void drain(std::vector<Item>& out) = 0;
  // A pollable descriptor that turns readable when packets wait.
  [[nodiscard]] virtual int fd() const = 0;
};

}  // namespace ndpsync
