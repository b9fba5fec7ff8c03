// Which interfaces are uplinks (with their prefixes) and which are downstream: the structural
// half of a decision, re-done only on a full pass. Private to the core library.
#pragma once

#include <string>
#include <vector>

#include "ndpsync/policy.hpp"

namespace ndpsync {

inline constexpr std::uint32_t kMainTable = 254;

// The configured uplinks (names not present go to `missing`), or the interfaces of the main
// table's default routes, or, while there is none, the uplinks remembered from before, or the
// one interface SLAAC left its traces on (find_slaac_uplink). When several interfaces show such
// traces, none is chosen: they go to `ambiguous`.
std::vector<Uplink> select_uplinks(const Config& config, const ObservedState& observed,
                                   const Memory& memory, std::vector<std::string>& missing,
                                   std::vector<UplinkCandidate>& ambiguous);

// Downstream by default: veths, bridges and lo; never an uplink, a bridge port (its addresses and
// neighbours live on the bridge), or anything that shares a master with an uplink. Ascending.
std::vector<IfIndex> select_downstream(const Config& config, const ObservedState& observed,
                                       const Memory& memory, const std::vector<Uplink>& uplinks);

}  // namespace ndpsync
