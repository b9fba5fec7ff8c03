// Liveness checks on what events and dumps reveal, for AgentCore. Private to the agent library.
#pragma once

#include <vector>

#include "ndpsync/prober.hpp"
#include "ndpsync/reconcile.hpp"

namespace ndpsync {

// A neighbour event, before it is applied to `observed`: an admin's removal of a static entry
// ends its verification; a change of a tracked neighbour (one we claim an address from, or are
// verifying, or have withdrawn) goes to liveness. True when the verdicts changed: its address
// needs judging again.
bool neighbour_event(const NeighbourEvent& event, const Config& config, const Decision& decision,
                     const ObservedState& observed, Prober& prober, SteadyTime now);
// A link event, before it is applied: a port that leaves its bridge has everything claimed on the
// bridge verified; a deleted link's neighbours are forgotten.
void link_event(const LinkEvent& event, const Decision& decision, const ObservedState& observed,
                Prober& prober, SteadyTime now);

// The neighbours the decision claims addresses from, each once.
std::vector<IfAddressKey> claimed_neighbours(const Decision& decision);

struct ClaimedState {
  IfAddressKey source;
  NudState state;
};
// Their states, before a dump replaces what we knew.
std::vector<ClaimedState> claimed_states(const Decision& decision, const ObservedState& observed);

// A claimed neighbour missing from a new dump vanished while we were not looking (an overrun,
// garbage collection): verify it like one whose deletion we saw; a static one was removed on
// purpose.
void verify_vanished(const std::vector<ClaimedState>& before, const ObservedState& observed,
                     Prober& prober, SteadyTime now);
// Claimed neighbours the kernel does not vouch for right now get verified.
void verify_unconfirmed(const Decision& decision, const ObservedState& observed, Prober& prober,
                        SteadyTime now);
// Entries a previous run installed whose source is gone now (judged by `decision`, made without
// them) are verified like any vanished neighbour.
void verify_orphans(const Decision& decision, const ObservedState& observed, std::uint8_t owner,
                    Prober& prober, SteadyTime now);
// What the uplinks' neighbour tables claim of the addresses in `scope` (anyone on the provider's
// link can write those) is checked downstream, where nobody on the uplink can answer for the
// holder: a claimed neighbour that the kernel has not confirmed lately is verified by liveness and
// keeps its entry meanwhile; a refused one that is STALE is probed, and its answer (REACHABLE)
// verifies it, which wins it the address.
void verify_contested(const Decision& decision, const ObservedState& observed, const Scope& scope,
                      Prober& prober, SteadyTime now);
// A withdrawn neighbour that is no longer in the kernel's table needs no verdict: it is no
// source, and if it comes back, its new entry is judged afresh. Without this, neighbours that
// garbage collection deleted while they were being verified would pile up in the verdicts.
void forget_absent(const ObservedState& observed, Prober& prober);

}  // namespace ndpsync
