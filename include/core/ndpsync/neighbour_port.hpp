// The netlink half of the kernel seam: what the kernel holds (dumps and events) and the writes to
// its neighbour tables (proxy entries, probes). NetlinkKernel implements it against the real
// kernel; test/unit has a stateful fake. Nothing here throws: every call returns an errno-style
// result, and the callers decide what a failure means.
#pragma once

#include <cstdint>
#include <variant>
#include <vector>

#include "ndpsync/result.hpp"
#include "ndpsync/types.hpp"

namespace ndpsync {

enum class Change : std::uint8_t { kNew, kDel };

struct LinkEvent {
  Change change{};
  Link link;
};
struct AddressEvent {
  Change change{};
  Address address;
};
struct NeighbourEvent {
  Change change{};
  Neighbour neighbour;
};
struct RouteEvent {
  Change change{};
  Route route;
};
// Proxy entries appear only in dumps: the kernel never announces their changes (docs/design.md,
// "Kernel facts we rely on").
struct ProxyEvent {
  Change change{};
  ProxyEntry entry;
};

// forwarding or proxy_ndp changed (RTNLGRP_IPV6_NETCONF), on `ifindex`, or in all or default
// (0). Only where: the sysctl keeper reads the values itself. accept_ra and proxy_delay are not
// announced; the resync checks them.
struct NetconfEvent {
  IfIndex ifindex = 0;
};

using KernelEvent =
    std::variant<LinkEvent, AddressEvent, NeighbourEvent, RouteEvent, ProxyEvent, NetconfEvent>;

// Everything the kernel holds that matters to us, read in one go.
struct Snapshot {
  std::vector<Link> links;
  std::vector<Address> addresses;
  std::vector<Neighbour> neighbours;
  std::vector<Route> routes;
  std::vector<ProxyEntry> proxies;
};

class NeighbourPort {
 public:
  virtual ~NeighbourPort() = default;

  virtual Result<Snapshot> dump() = 0;
  virtual Result<std::vector<ProxyEntry>> dump_proxies() = 0;

  // Installs a NUD_PERMANENT proxy entry carrying entry.protocol. Idempotent.
  virtual Status add_proxy(const ProxyEntry& entry) = 0;
  // Removes it; an entry that is already gone is success.
  virtual Status delete_proxy(const ProxyEntry& entry) = 0;
  // Asks the kernel to re-resolve a neighbour now, so that a live node turns REACHABLE within
  // milliseconds and a departed one FAILED within the kernel's probe time (3 x retrans_time).
  virtual Status probe_neighbour(IfIndex ifindex, const Ipv6Address& address) = 0;
  // Removes a (non-proxy) neighbour entry: one a probe left behind that nobody answered. An
  // entry that is already gone is success.
  virtual Status delete_neighbour(IfIndex ifindex, const Ipv6Address& address) = 0;
};

}  // namespace ndpsync
