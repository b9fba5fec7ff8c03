// Finding the uplink when the IPv6 default route is gone, from what SLAAC leaves behind. Pure:
// a function of the config and the observed kernel state; `doctor` can call it as it is.
//
// Why the route can be gone while the uplink is fine: writing any forwarding=1 (Docker does, for
// example) drops the RA-learned default route of every interface whose accept_ra is not 2, and
// with forwarding on and accept_ra=1 the kernel ignores every later RA. The addresses and prefix
// routes SLAAC made stay until their lifetimes end, and RAs still arrive (each refreshes the
// router's neighbour entry). Setting accept_ra=2 there lets the next RA bring the route back.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ndpsync/config.hpp"
#include "ndpsync/observed_state.hpp"

namespace ndpsync {

// Why an interface is an uplink. Stable names (status JSON, `reconcile --json`): "configured",
// "default-route", "remembered", "slaac".
enum class UplinkSource : std::uint8_t {
  kConfigured,    // named in the config or on the command line
  kDefaultRoute,  // holds an IPv6 default route (main table)
  kRemembered,    // the agent saw its default route before; it is gone for now
  kSlaac,         // no default route anywhere: found from SLAAC's traces (UplinkEvidence)
};
std::string_view to_string(UplinkSource source);

// What SLAAC leaves on an interface, strongest first.
enum class UplinkEvidence : std::uint8_t {
  kSlaacAddresses,   // global addresses with a lifetime (not IFA_F_PERMANENT), or mngtmpaddr
  kRaRoutes,         // prefix routes learned from an RA (protocol ra)
  kRouterNeighbour,  // a neighbour flagged as a router: RAs arrive there
};
std::string_view to_string(UplinkEvidence evidence);  // "slaac-addresses", ...
std::string_view describe(UplinkEvidence evidence);   // "SLAAC addresses", ...

struct UplinkCandidate {
  IfIndex index = 0;
  std::string name;
  std::vector<UplinkEvidence> evidence;  // strongest first, each once

  // "SLAAC addresses and RA prefix routes"
  [[nodiscard]] std::string evidence_text() const;
  auto operator<=>(const UplinkCandidate&) const = default;
};

struct UplinkSearch {
  // The interfaces with the best evidence found, by ifindex. Best: addresses or RA routes over
  // router neighbours alone, then an interface the default downstream selection would not take
  // (veths, bridges) over one it would. The configured `downstream`, lo, bridge ports and links
  // that are down are never candidates.
  std::vector<UplinkCandidate> candidates;

  // The one candidate, or nullptr when there is none or more than one.
  [[nodiscard]] const UplinkCandidate* found() const {
    return candidates.size() == 1 ? &candidates.front() : nullptr;
  }
  [[nodiscard]] bool ambiguous() const { return candidates.size() > 1; }
  // For an ambiguous search: names every candidate with its evidence, and the fix.
  [[nodiscard]] std::string message() const;
};

// Looks for the uplink from SLAAC's traces, whatever the routes say: callers use it when the
// config names no uplink and no default route exists.
UplinkSearch find_slaac_uplink(const Config& config, const ObservedState& observed);

}  // namespace ndpsync
