// The classic BPF programs of the packet listeners, built from a PacketFilter by a pure
// function, so that a unit test can run them on an AF_UNIX socket without root. Offsets are from
// the IPv6 header: the sockets are SOCK_DGRAM.
#pragma once

#include <linux/filter.h>

#include <cstddef>
#include <vector>

#include "ndpsync/packet_filter.hpp"

namespace ndpsync {

enum class NsListener : std::uint8_t {
  kDad,           // solicitations from `::` (DAD probes), on downstream interfaces
  kSolicitation,  // solicitations from anyone else (address resolution), on uplinks
};

struct BpfProgram {
  std::vector<sock_filter> code;
  // False when the answered targets did not fit in `max_insns` (at most BPF_MAXINSNS) and were
  // left out: then the program passes solicitations for them, and userspace drops them.
  bool targets_filtered = true;
};

// How much of a packet the programs pass: a solicitation is 64 to 104 bytes; anything longer
// than this is not one.
inline constexpr unsigned kPassBytes = 256;

// The program, in this order: the packet type (OTHERHOST and OUTGOING are dropped), the
// interface (when `filter.interfaces` is set; an empty list drops everything), ICMPv6 without
// extension headers, hop limit 255, type 135 code 0, the source (`::` for kDad, anything else for
// kSolicitation), and for kSolicitation all 128 bits of the target against `filter.answered`.
// The interface check reads SKF_AD_IFINDEX, which AF_UNIX sockets do not support: test those
// programs with `interfaces` unset. A program with the targets that would be longer than
// `max_insns` is built without them.
BpfProgram build_ns_filter(NsListener listener, const PacketFilter& filter,
                           std::size_t max_insns = BPF_MAXINSNS);
// A program that drops everything (a paused socket).
std::vector<sock_filter> drop_all_filter();

}  // namespace ndpsync
