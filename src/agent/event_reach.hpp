// Which addresses an event that changed the observed state asks the next reconcile to judge
// again: one address, or everything. Pure; AgentCore collects it over a batch.
#pragma once

#include <optional>

#include "ndpsync/decision_engine.hpp"

namespace ndpsync {

struct EventReach {
  bool structural = false;             // the structure may have changed: a full pass
  std::optional<Ipv6Address> touched;  // this address's sources changed: judge it again
};

// Events that change only downstream addresses, neighbours and host routes, or an uplink's
// neighbours, are judged address by address; anything else (links, other routes on uplinks, the
// uplinks' own addresses, proxy entries) needs a full pass.
EventReach classify(const Decision& decision, const KernelEvent& event);

// The link an event changed in a way that can make an on-demand miss there stale: a link that
// came up, gained carrier or a port (the port's event names its bridge), or gained or changed an
// address (DAD over) or a route. Neighbour, proxy and netconf events change no link.
std::optional<IfIndex> changed_link(const KernelEvent& event);

}  // namespace ndpsync
