// The seam between decisions and the kernel. NetlinkKernel implements it against the real
// kernel; test/unit has a stateful fake. Nothing here throws: every call returns an errno-style
// result, and the callers decide what a failure means.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "ndpsync/result.hpp"
#include "ndpsync/types.hpp"

namespace ndpsync {

enum class Change : std::uint8_t { kNew, kDel };

struct LinkEvent {
  Change change;
  Link link;
};
struct AddressEvent {
  Change change;
  Address address;
};
struct NeighbourEvent {
  Change change;
  Neighbour neighbour;
};
struct RouteEvent {
  Change change;
  Route route;
};
// Proxy entries appear only in dumps: the kernel never announces their changes (fact 5).
struct ProxyEvent {
  Change change;
  ProxyEntry entry;
};

using KernelEvent = std::variant<LinkEvent, AddressEvent, NeighbourEvent, RouteEvent, ProxyEvent>;

// Everything the kernel holds that matters to us, read in one go.
struct Snapshot {
  std::vector<Link> links;
  std::vector<Address> addresses;
  std::vector<Neighbour> neighbours;
  std::vector<Route> routes;
  std::vector<ProxyEntry> proxies;
};

// A sysctl under /proc/sys/net/ipv6: conf/<iface>/<name> or neigh/<iface>/<name>.
struct SysctlKey {
  enum class Tree : std::uint8_t { kConf, kNeigh };
  Tree tree = Tree::kConf;
  std::string iface;  // "all", "default" or an interface name
  std::string name;

  [[nodiscard]] std::string to_string() const;  // "net.ipv6.conf.all.forwarding"
  auto operator<=>(const SysctlKey&) const = default;
};

// Netlink: what the kernel holds, and the proxy-table writes.
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
};

// /proc/sys/net/ipv6.
class SysctlPort {
 public:
  virtual ~SysctlPort() = default;

  virtual Result<std::string> read_sysctl(const SysctlKey& key) = 0;
  virtual Status write_sysctl(const SysctlKey& key, const std::string& value) = 0;
};

// Both, as the real kernel and the fake provide them.
class KernelPort : public NeighbourPort, public SysctlPort {};

// The event stream, kept apart from KernelPort so that one-shot commands never open it.
class EventSource {
 public:
  virtual ~EventSource() = default;

  enum class Drain : std::uint8_t {
    kIdle,       // read everything there was
    kOverrun,    // the kernel dropped events (ENOBUFS): the caller must re-dump
    kMalformed,  // a message could not be parsed (last_error()): what it said is unknown; re-dump
    kError,
  };
  // Reads every pending event without blocking and appends them to `out`.
  virtual Drain drain(std::vector<KernelEvent>& out) = 0;
  // What the last malformed message was, for the log.
  [[nodiscard]] virtual std::string last_error() const { return {}; }
  // Blocks until events wait or the timeout passes; true when events wait.
  virtual bool wait(std::chrono::milliseconds timeout) = 0;
  // A pollable descriptor that turns readable when events wait.
  [[nodiscard]] virtual int fd() const = 0;
};

}  // namespace ndpsync
