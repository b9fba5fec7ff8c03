// Policy's vocabulary: which addresses the host must answer for, on which uplink, and which it
// must refuse, with the reason. The DecisionEngine (decision_engine.hpp) makes these; decide() is
// its one-call form. Pure: a function of the config, the observed kernel state and the liveness
// verdicts.
#pragma once

#include <algorithm>
#include <map>
#include <set>
#include <string_view>
#include <vector>

#include "ndpsync/config.hpp"
#include "ndpsync/observed_state.hpp"
#include "ndpsync/uplink_search.hpp"

namespace ndpsync {

// Where an address to mirror comes from: an address configured on a downstream interface, a
// neighbour there, a /128 route into one (is_host_route), or the config's `static` list.
enum class Source : std::uint8_t { kAddress, kNeighbour, kRoute, kStatic };
constexpr Source kLastSource = Source::kStatic;  // metrics list every source up to it
std::string_view to_string(Source source);

// Stable reason codes: they appear in the status JSON and in `reconcile --json`.
enum class SkipReason : std::uint8_t {
  kLinkLocal,
  kMulticast,
  kUnspecified,
  kLoopback,
  kOutsidePrefix,
  kDenied,
  kUplinkAddress,    // configured on an uplink
  kUplinkRouter,     // a router on an uplink: a default gateway or an NTF_ROUTER neighbour
  kUplinkNeighbour,  // in use on an uplink by another node
  kNotAllowed,       // outside the prefixes the interface is bound to
  kDadFailed,
  kCap,
  kForeign,  // the kernel already has an entry for it that another owner installed
  kCapMac,   // its neighbour's MAC has max_entries_per_mac addresses on that interface already
};
constexpr SkipReason kLastSkipReason = SkipReason::kCapMac;  // metrics list every reason up to it
std::string_view to_string(SkipReason reason);

struct Uplink {
  IfIndex index = 0;
  std::string name;
  std::vector<Prefix> prefixes;
  bool remembered = false;  // prefixes from Memory: the uplink's own addresses are gone for now
  UplinkSource source = UplinkSource::kDefaultRoute;
  std::vector<UplinkEvidence> evidence;  // kSlaac: what SLAAC left there (uplink_search.hpp)
  // No prefix is detected right now (a link flap, a `networking restart`): entries are kept,
  // and re-added from the remembered prefixes, but nothing is removed.
  [[nodiscard]] bool held() const { return prefixes.empty() || remembered; }
  // One of its prefixes contains `address`.
  [[nodiscard]] bool covers(const Ipv6Address& address) const {
    return std::any_of(prefixes.begin(), prefixes.end(),
                       [&](const Prefix& p) { return p.contains(address); });
  }
};

// Where a wanted entry's address comes from. The entry itself is the key it is filed under in
// Decision::desired, (uplink, address), with our owner protocol: kept once, in the key.
struct Desired {
  Source source = Source::kAddress;
  IfIndex source_ifindex = 0;  // 0 for a static address: no interface revealed it
  // The neighbour's MAC, where the per-MAC cap counts it (a neighbour on an interface that is
  // not a veth); empty for every other source.
  LinkAddress mac;
  auto operator<=>(const Desired&) const = default;
};

// One link-layer address on one downstream interface: what max_entries_per_mac counts.
using MacKey = std::pair<IfIndex, LinkAddress>;

struct Skipped {
  Ipv6Address address;
  IfIndex ifindex = 0;  // where we saw it
  SkipReason reason = SkipReason::kOutsidePrefix;
  // clang-tidy 14 takes the synthesized comparisons' 0 for a null pointer.
  // NOLINTNEXTLINE(modernize-use-nullptr)
  auto operator<=>(const Skipped&) const = default;
};

// Liveness verdicts from the agent: neighbours that are gone but still being verified stay
// claimed; neighbours proven dead are withdrawn although the kernel still lists them.
struct LivenessView {
  std::set<IfAddressKey> held;
  std::set<IfAddressKey> withdrawn;
};

// What the agent remembers across a transient loss. While no default route exists, the uplinks
// last seen stay uplinks (a re-created uplink must get its sysctls before it can accept the RA
// that brings the route back); an uplink whose addresses are gone keeps its last prefixes.
struct Memory {
  std::set<std::string> uplinks;
  std::map<std::string, std::vector<Prefix>> prefixes;
};

struct Decision {
  std::vector<Uplink> uplinks;
  std::vector<std::string> missing_uplinks;  // configured by name, not present
  // No default route, and more than one interface looked like the uplink: none was chosen.
  std::vector<UplinkCandidate> uplink_candidates;
  std::vector<IfIndex> downstream;          // ascending
  std::map<IfAddressKey, Desired> desired;  // keyed by (uplink, address)
  std::set<Skipped> skipped;                // ordered by address first
  std::vector<ProxyEntry> foreign;          // entries on uplinks that another owner installed

  // Bookkeeping that lets DecisionEngine::update() judge one address without judging them all.
  std::set<Ipv6Address> gateways;  // of the routes on the uplinks: routers, never claimed
  std::size_t admitted = 0;        // addresses admitted (each counts once against the caps)
  std::map<IfIndex, std::size_t> per_interface;
  std::map<MacKey, std::size_t> per_mac;  // admitted addresses by neighbour MAC (Desired::mac)
  bool capped = false;  // max_entries or max_entries_per_interface refused something
  // MACs that max_entries_per_mac refuses addresses of, and how many: their addresses compete
  // in a full pass's order, so an update that touches one of them asks for a full pass.
  std::map<MacKey, std::size_t> capped_macs;

  [[nodiscard]] const Uplink* uplink(IfIndex index) const;
  // Where an admitted address is claimed from: one of its entries (every uplink's entry for an
  // address has the same source); nullptr when the address is not admitted.
  [[nodiscard]] const Desired* claim(const Ipv6Address& address) const;
  [[nodiscard]] bool judged() const;  // false while no uplink has a prefix
};

// A fresh, full decision: DecisionEngine::full() in one call.
Decision decide(const Config& config, const ObservedState& observed,
                const LivenessView& liveness = {}, const Memory& memory = {});

}  // namespace ndpsync
