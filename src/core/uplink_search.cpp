#include "ndpsync/uplink_search.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "topology.hpp"

namespace ndpsync {
namespace {

constexpr std::uint8_t kProtocolRa = 9;  // RTPROT_RA: learned from a router advertisement

bool is_unicast_global(const Ipv6Address& address) {
  return !address.is_unspecified() && !address.is_loopback() && !address.is_multicast() &&
         !address.is_link_local();
}

// An address SLAAC (or DHCPv6) made: it has a lifetime, so the kernel did not mark it permanent.
// A permanent one with mngtmpaddr is the base of temporary addresses made from RA prefixes.
bool from_slaac(const Address& address) {
  return is_unicast_global(address.address) && (address.flags & kAddrDadFailed) == 0 &&
         ((address.flags & kAddrPermanent) == 0 || (address.flags & kAddrManageTempAddr) != 0);
}

void note(std::map<IfIndex, std::set<UplinkEvidence>>& found, IfIndex index,
          UplinkEvidence evidence) {
  found[index].insert(evidence);
}

}  // namespace

std::string_view to_string(UplinkSource source) {
  switch (source) {
    case UplinkSource::kConfigured: return "configured";
    case UplinkSource::kDefaultRoute: return "default-route";
    case UplinkSource::kRemembered: return "remembered";
    case UplinkSource::kSlaac: return "slaac";
  }
  return "unknown";
}

std::string_view to_string(UplinkEvidence evidence) {
  switch (evidence) {
    case UplinkEvidence::kSlaacAddresses: return "slaac-addresses";
    case UplinkEvidence::kRaRoutes: return "ra-routes";
    case UplinkEvidence::kRouterNeighbour: return "router-neighbour";
  }
  return "unknown";
}

std::string_view describe(UplinkEvidence evidence) {
  switch (evidence) {
    case UplinkEvidence::kSlaacAddresses: return "SLAAC addresses";
    case UplinkEvidence::kRaRoutes: return "RA prefix routes";
    case UplinkEvidence::kRouterNeighbour: return "a router's RAs";
  }
  return "unknown";
}

std::string UplinkCandidate::evidence_text() const {
  std::string text;
  for (std::size_t i = 0; i < evidence.size(); ++i) {
    if (i > 0) text += i + 1 == evidence.size() ? " and " : ", ";
    text += describe(evidence[i]);
  }
  return text;
}

std::string UplinkSearch::message() const {
  std::string names;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (i > 0) names += i + 1 == candidates.size() ? " and " : ", ";
    names += candidates[i].name + " (" + candidates[i].evidence_text() + ")";
  }
  return "no IPv6 default route, and more than one interface looks like the uplink: " + names +
         ". Not guessing: nothing was written. Configure the uplink (--uplink NAME, or "
         "\"uplinks\" in the config)";
}

UplinkSearch find_slaac_uplink(const Config& config, const ObservedState& observed) {
  // Configured downstream interfaces, lo and bridge ports (their L3 lives on the bridge) are
  // never candidates, nor are links that are down. The veths and bridges the default selection
  // takes as downstream count only where no other interface shows the same kind of evidence:
  // the uplink itself is a veth when the host is a container (and in the lab), and a bridge when
  // the provider's link is bridged to VMs (Proxmox's vmbr0).
  const auto downstream = select_downstream(config, observed, Memory{}, {});
  const auto eligible = [&](IfIndex index) {
    const auto* link = observed.link(index);
    return link != nullptr && link->up && !link->loopback && link->master == 0 &&
           (config.downstream.empty() ||
            std::find(downstream.begin(), downstream.end(), index) == downstream.end());
  };
  std::map<IfIndex, std::set<UplinkEvidence>> found;
  for (const auto& [key, address] : observed.addresses()) {
    if (from_slaac(address) && eligible(key.ifindex)) {
      note(found, key.ifindex, UplinkEvidence::kSlaacAddresses);
    }
  }
  for (const auto& [key, route] : observed.routes()) {
    if (!route.is_default() && route.protocol == kProtocolRa && route.table == kMainTable &&
        is_unicast_global(route.destination.network()) && eligible(route.oif)) {
      note(found, route.oif, UplinkEvidence::kRaRoutes);
    }
  }
  for (const auto& [key, neighbour] : observed.neighbours()) {
    if (neighbour.router && neighbour.present() && eligible(key.ifindex)) {
      note(found, key.ifindex, UplinkEvidence::kRouterNeighbour);
    }
  }
  // Only the best rank is kept. The kind of evidence first: a router's RAs alone count only where
  // no interface has SLAAC addresses or RA routes (a second network with a router is common; a
  // second network with SLAAC addresses is ambiguous for real). Then the interface: one the
  // default selection would not take as downstream first.
  const auto rank = [&](IfIndex index, const std::set<UplinkEvidence>& evidence) {
    const bool strong = evidence.contains(UplinkEvidence::kSlaacAddresses) ||
                        evidence.contains(UplinkEvidence::kRaRoutes);
    const bool container_side =
        std::find(downstream.begin(), downstream.end(), index) != downstream.end();
    return (strong ? 0 : 2) + (container_side ? 1 : 0);
  };
  int best = 4;
  for (const auto& [index, evidence] : found) best = std::min(best, rank(index, evidence));
  UplinkSearch search;
  for (const auto& [index, evidence] : found) {
    if (rank(index, evidence) != best) continue;
    search.candidates.push_back({.index = index,
                                 .name = observed.link(index)->name,
                                 .evidence = {evidence.begin(), evidence.end()}});
  }
  return search;
}

}  // namespace ndpsync
