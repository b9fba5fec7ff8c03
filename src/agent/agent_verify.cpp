// The agent's liveness checks on what events and dumps reveal. Events catch the transitions (a
// tracked neighbour's change, a port leaving its bridge); a dump shows claimed neighbours that
// vanished while we were not looking, claimed neighbours the kernel does not vouch for, and
// entries a previous run left whose source is gone.
#include "agent_verify.hpp"

#include <spdlog/spdlog.h>

#include "ndpsync/decision_engine.hpp"

#include <algorithm>
#include <optional>

namespace ndpsync {

std::vector<IfAddressKey> claimed_neighbours(const Decision& decision) {
  std::vector<IfAddressKey> sources;
  for (const auto& [key, desired] : decision.desired) {
    if (desired.source == Source::kNeighbour) {
      sources.emplace_back(desired.source_ifindex, key.second);
    }
  }
  if (decision.uplinks.size() > 1) {  // an address has an entry on each uplink that covers it
    std::sort(sources.begin(), sources.end());
    sources.erase(std::unique(sources.begin(), sources.end()), sources.end());
  }
  return sources;
}

std::vector<ClaimedState> claimed_states(const Decision& decision, const ObservedState& observed) {
  std::vector<ClaimedState> claimed;
  for (const auto& source : claimed_neighbours(decision)) {
    const auto* neighbour = observed.neighbour(source);
    claimed.push_back({source, neighbour != nullptr ? neighbour->state : kNudNone});
  }
  return claimed;
}

void verify_vanished(const std::vector<ClaimedState>& before, const ObservedState& observed,
                     Prober& prober, SteadyTime now) {
  for (const auto& [source, state] : before) {
    if (observed.link(source.first) == nullptr || observed.neighbour(source) != nullptr) continue;
    if (state.in(kNudStatic)) {
      prober.forget(source);  // removed on purpose: garbage collection never takes those
    } else {
      prober.observe(source, std::nullopt, now);
    }
  }
}

void verify_unconfirmed(const Decision& decision, const ObservedState& observed, Prober& prober,
                        SteadyTime now) {
  for (const auto& source : claimed_neighbours(decision)) {
    const auto* neighbour = observed.neighbour(source);
    if (neighbour != nullptr && !neighbour->state.in(kNudConfirmed) &&
        !prober.liveness().withdrawn().contains(source)) {
      prober.observe(source, neighbour->state, now);
    }
  }
}

// Our entries whose source is gone are verified on the downstream interface whose on-link
// prefix covers them (the first such, by index), rather than withdrawn unseen: the container
// may be idle.
void verify_orphans(const Decision& decision, const ObservedState& observed, std::uint8_t owner,
                    Prober& prober, SteadyTime now) {
  for (const auto& [key, protocol] : observed.proxies()) {
    if (protocol != owner || decision.desired.contains(key) ||
        decision.uplink(key.first) == nullptr) {
      continue;
    }
    std::optional<IfIndex> covering;
    for (const auto& [where, address] : observed.addresses()) {
      const bool downstream =
          std::binary_search(decision.downstream.begin(), decision.downstream.end(), where.ifindex);
      if (downstream && address.prefix_length < 128 && (!covering || where.ifindex < *covering) &&
          Prefix(address.address, address.prefix_length).contains(key.second)) {
        covering = where.ifindex;
      }
    }
    if (covering) prober.observe({*covering, key.second}, std::nullopt, now);
  }
}

void verify_contested(const Decision& decision, const ObservedState& observed, const Scope& scope,
                      Prober& prober, SteadyTime now) {
  const auto contested = [&](const IfAddressKey& holder) {
    const auto* neighbour = observed.neighbour(holder);
    // Static entries are the admin's word, and a probe would rewrite them; a confirmed or
    // already verifying holder needs nothing more.
    return neighbour != nullptr && neighbour->state.in(kNudStale | kNudDelay | kNudProbe) &&
           !prober.liveness().verifying().contains(holder) &&
           !decision.gateways.contains(holder.second) &&
           uplink_claim(observed, decision, holder.second) != UplinkClaim::kNone;
  };
  const auto claimed = [&](const Ipv6Address& address) {
    const auto* claim = decision.claim(address);
    if (claim == nullptr || claim->source != Source::kNeighbour) return;
    const IfAddressKey holder{claim->source_ifindex, address};
    if (contested(holder)) prober.suspect(holder, now);
  };
  if (scope.is_everything()) {
    for (const auto& holder : claimed_neighbours(decision)) claimed(holder.second);
  } else {
    for (const auto& address : scope.addresses()) claimed(address);
  }
  for_each_skipped(decision, scope, [&](const Skipped& s) {
    if (s.reason != SkipReason::kUplinkNeighbour) return;  // the router's is refused anyway
    const IfAddressKey holder{s.ifindex, s.address};
    const auto* neighbour = observed.neighbour(holder);
    if (neighbour != nullptr && neighbour->state.in(kNudStale) && contested(holder)) {
      prober.verify_holder(holder, now);
    }
  });
}

void forget_absent(const ObservedState& observed, Prober& prober) {
  std::vector<IfAddressKey> absent;
  for (const auto& key : prober.liveness().withdrawn()) {
    if (observed.neighbour(key) == nullptr) absent.push_back(key);
  }
  for (const auto& key : absent) prober.forget(key);
}

namespace {

bool tracked(const IfAddressKey& source, const Decision& decision, const Liveness& liveness) {
  const auto* claim = decision.claim(source.second);
  const bool claimed = claim != nullptr && claim->source == Source::kNeighbour &&
                       claim->source_ifindex == source.first;
  return claimed || liveness.verifying().contains(source) || liveness.withdrawn().contains(source);
}

}  // namespace

bool neighbour_event(const NeighbourEvent& event, const Config& config, const Decision& decision,
                     const ObservedState& observed, Prober& prober, SteadyTime now) {
  const auto& n = event.neighbour;
  const IfAddressKey key{n.ifindex, n.address};
  const auto* before = observed.neighbour(key);
  bool changed = false;
  if (event.change == Change::kDel && before != nullptr && before->state.in(kNudStatic)) {
    prober.forget(key);  // an admin removed a static entry: gone, nothing to verify
  } else if (config.verify_neighbours && tracked(key, decision, prober.liveness())) {
    const auto state = event.change == Change::kNew ? std::optional(n.state) : std::nullopt;
    changed = prober.observe(key, state, now);
  }
  spdlog::trace("neighbour {} {} on {}: {}", event.change == Change::kNew ? "new" : "del",
                n.address.to_string(), n.ifindex, nud_state_name(n.state));
  return changed;
}

void link_event(const LinkEvent& event, const Decision& decision, const ObservedState& observed,
                Prober& prober, SteadyTime now) {
  const auto* before = observed.link(event.link.index);
  // A port leaving its bridge usually means a container stopped; the bridge's neighbour entry
  // for it lingers, so verify everything claimed on that bridge now.
  if (before != nullptr && before->master != 0 &&
      (event.change == Change::kDel || event.link.master != before->master)) {
    for (const auto& source : claimed_neighbours(decision)) {
      if (source.first == before->master) prober.suspect(source, now);
    }
  }
  if (event.change == Change::kDel) prober.forget_interface(event.link.index);
  spdlog::debug("link {} {} ({})", event.change == Change::kNew ? "new" : "del", event.link.name,
                event.link.index);
}

}  // namespace ndpsync
