// The seam between decisions and the kernel, in two ports: NeighbourPort (netlink: dumps, proxy
// entries, probes) and SysctlPort (/proc/sys). KernelPort is both, for callers that need both;
// EventSource is the event stream, kept apart so that one-shot commands never open it.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "ndpsync/neighbour_port.hpp"
#include "ndpsync/sysctl_port.hpp"

namespace ndpsync {

class KernelPort : public NeighbourPort, public SysctlPort {};

class EventSource {
 public:
  virtual ~EventSource() = default;

  enum class Drain : std::uint8_t {
    kIdle,       // read everything there was
    kMore,       // read as much as one call may: more may wait, call again (after other work)
    kOverrun,    // the kernel dropped events (ENOBUFS): the caller must re-dump
    kMalformed,  // a message could not be parsed (last_error()): what it said is unknown; re-dump
    kError,
  };
  // Reads pending events without blocking, a bounded number at a time, and appends them to `out`.
  virtual Drain drain(std::vector<KernelEvent>& out) = 0;
  // What the last malformed message was, for the log.
  [[nodiscard]] virtual std::string last_error() const { return {}; }
  // Blocks until events wait or the timeout passes; true when events wait.
  virtual bool wait(std::chrono::milliseconds timeout) = 0;
  // A pollable descriptor that turns readable when events wait.
  [[nodiscard]] virtual int fd() const = 0;
};

}  // namespace ndpsync
