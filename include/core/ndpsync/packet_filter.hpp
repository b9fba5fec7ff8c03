// What the packet listeners' kernel-side filters let through, as the agent decides it, and the
// port that installs them. The kernel layer turns a PacketFilter into a classic BPF program
// (bpf_program.hpp); test/unit's fakes record it.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "ndpsync/result.hpp"
#include "ndpsync/types.hpp"

namespace ndpsync {

struct PacketFilter {
  // Interfaces whose packets pass; nullopt: every interface (until the first decision).
  std::optional<std::vector<IfIndex>> interfaces;
  // Sorted targets whose solicitations never pass: the kernel answers them itself (they are
  // proxied on an uplink). Used by the solicitation listener only.
  std::vector<Ipv6Address> answered;
  bool operator==(const PacketFilter&) const = default;
};

// A packet socket whose kernel-side filter the agent steers.
class FilteredSocket {
 public:
  virtual ~FilteredSocket() = default;
  // Replaces the filter (SO_ATTACH_FILTER swaps it atomically). A socket that is paused keeps
  // dropping everything and takes the new filter on resume().
  virtual Status set_filter(const PacketFilter& filter) = 0;
  // Drops every packet in the kernel until resume(), and discards what is queued already;
  // returns how many it discarded.
  virtual std::size_t pause() = 0;
  virtual Status resume() = 0;
  // False when the solicitation filter holds too many targets for one program (BPF_MAXINSNS,
  // or the socket's option memory) and passes them all to userspace, which drops them there.
  [[nodiscard]] virtual bool targets_filtered() const = 0;
};

}  // namespace ndpsync
