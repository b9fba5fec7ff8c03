// The agent's liveness checks on what a dump reveals: claimed neighbours that vanished while we
// were not looking, claimed neighbours the kernel does not vouch for, and entries a previous run
// left whose source is gone. Events catch the transitions; these catch what only a dump shows.
#include <algorithm>
#include <optional>

#include "ndpsync/agent.hpp"

namespace ndpsync {

std::vector<IfAddressKey> AgentCore::claimed_neighbours() const {
  std::vector<IfAddressKey> sources;
  for (const auto& [key, desired] : decision().desired) {
    if (desired.source == Source::kNeighbour)
      sources.emplace_back(desired.source_ifindex, key.second);
  }
  if (decision().uplinks.size() > 1) {  // an address has an entry on each uplink that covers it
    std::sort(sources.begin(), sources.end());
    sources.erase(std::unique(sources.begin(), sources.end()), sources.end());
  }
  return sources;
}

bool AgentCore::is_tracked(const IfAddressKey& source) const {
  const auto* claim = decision().claim(source.second);
  const bool claimed = claim != nullptr && claim->source == Source::kNeighbour &&
                       claim->source_ifindex == source.first;
  const auto& liveness = prober_.liveness();
  return claimed || liveness.verifying().contains(source) || liveness.withdrawn().contains(source);
}

// A claimed neighbour missing from a new dump vanished while we were not looking (an overrun,
// garbage collection): verify it like one whose deletion we saw; a static one was removed on
// purpose.
void AgentCore::verify_vanished(const std::vector<std::pair<IfAddressKey, NudState>>& claimed,
                                SteadyTime now) {
  if (!config_.verify_neighbours) return;
  for (const auto& [source, state] : claimed) {
    if (observed_.link(source.first) == nullptr || observed_.neighbour(source) != nullptr) continue;
    if (state.in(kNudStatic)) {
      prober_.forget(source);
    } else {
      prober_.observe(source, std::nullopt, now);
    }
  }
}

// Claimed neighbours the kernel does not vouch for right now get verified.
void AgentCore::verify_unconfirmed(SteadyTime now) {
  if (!config_.verify_neighbours) return;
  for (const auto& source : claimed_neighbours()) {
    const auto* neighbour = observed_.neighbour(source);
    if (neighbour != nullptr && !neighbour->state.in(kNudConfirmed) &&
        !prober_.liveness().withdrawn().contains(source)) {
      prober_.observe(source, neighbour->state, now);
    }
  }
}

// Entries a previous run installed whose source is gone now (a neighbour entry vanished while
// no agent was running) are verified like any vanished neighbour, on the downstream interface
// whose on-link prefix covers them, rather than withdrawn unseen: the container may be idle.
void AgentCore::verify_orphans(SteadyTime now) {
  if (!config_.verify_neighbours) return;
  const auto d = ::ndpsync::decide(config_, observed_, prober_.liveness().view(), memory_);
  for (const auto& [key, protocol] : observed_.proxies()) {
    if (protocol != config_.owner_protocol || d.desired.contains(key) ||
        d.uplink(key.first) == nullptr) {
      continue;
    }
    std::optional<IfIndex> covering;  // the first such interface, by index
    for (const auto& [where, address] : observed_.addresses()) {
      const bool downstream =
          std::binary_search(d.downstream.begin(), d.downstream.end(), where.ifindex);
      if (downstream && address.prefix_length < 128 && (!covering || where.ifindex < *covering) &&
          Prefix(address.address, address.prefix_length).contains(key.second)) {
        covering = where.ifindex;
      }
    }
    if (covering) prober_.observe({*covering, key.second}, std::nullopt, now);
  }
}

}  // namespace ndpsync
