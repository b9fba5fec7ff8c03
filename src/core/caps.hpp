// The caps of a decision: max_entries, max_entries_per_interface and max_entries_per_mac, and
// the bookkeeping (Decision::admitted, per_interface, per_mac) that lets an update count an
// address without counting them all. Private to the core library: the DecisionEngine's.
#pragma once

#include <optional>
#include <set>
#include <vector>

#include "ndpsync/policy.hpp"

namespace ndpsync {

// How a source ranks when a cap makes sources compete: configured state (addresses, host routes,
// static addresses), then live neighbours, then neighbours liveness still holds.
enum class Rank : std::uint8_t { kAddress, kNeighbour, kHeld };

// An entry a judged address is eligible for, before the caps.
struct Eligible {
  IfAddressKey key;  // (uplink, address)
  Desired desired;
  Rank rank = Rank::kAddress;
};

// The per-MAC cap in effect: never more than the per-interface cap, which holds the MAC's share.
[[nodiscard]] std::size_t mac_cap(const Config& config);

// Whether one more address from the downstream interface `ifindex` would pass max_entries or
// max_entries_per_interface.
[[nodiscard]] bool at_cap(const Decision& decision, const Config& config, IfIndex ifindex);

// Admits `eligible` against the caps and files its entry; the cap that refuses it, if one does.
// The per-MAC cap comes first: an address over it takes nothing from its interface's cap.
[[nodiscard]] std::optional<SkipReason> admit(Decision& decision, const Config& config,
                                              const Eligible& eligible);

// Every eligible entry of a full pass, against the caps: what is installed already keeps its
// place; newcomers queue behind it, configured addresses before neighbours, then by interface
// and address. Refusals go to decision.skipped, and mark decision.capped (cap) or count in
// decision.capped_macs (cap-mac).
void admit_all(Decision& decision, const Config& config, std::vector<Eligible>& eligible,
               const ProxyTable& installed);

// What the decision holds for one address, taken out (with its share of the caps).
void forget(Decision& decision, const Ipv6Address& address);

// Whether an update that judged `touched` again into `eligible` gives what a full pass would:
// every address fits within the caps, and none of them comes from, or was refused for, a MAC that
// a cap refuses addresses of (those compete in a full pass's order, which an update cannot see).
[[nodiscard]] bool fits_caps(const Decision& decision, const Config& config,
                             const std::set<Ipv6Address>& touched,
                             const std::vector<Eligible>& eligible);

}  // namespace ndpsync
