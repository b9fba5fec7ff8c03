// doctor's checks of the proxy entries and the addresses behind them: is each address on-link,
// routed into a container, alive there, and proxied by ndpsync alone on an uplink.
#include <algorithm>
#include <set>

#include "doctor_checks.hpp"
#include "topology.hpp"

namespace ndpsync::doctor {
namespace {

// At most this many examples are named in one finding; the count says how many there are.
constexpr std::size_t kExamples = 5;

std::string examples(const std::vector<std::string>& items) {
  std::string text;
  for (std::size_t i = 0; i < items.size() && i < kExamples; ++i) {
    text += (i == 0 ? "" : ", ") + items[i];
  }
  if (items.size() > kExamples) {
    text += " and " + std::to_string(items.size() - kExamples) + " more";
  }
  return text;
}

std::string count(std::size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// The proxied addresses: every entry on an uplink, ours or not.
std::vector<Ipv6Address> proxied(const HostView& host) {
  std::set<Ipv6Address> out;
  for (const auto& [key, protocol] : host.observed.proxies()) {
    if (host.uplinks.contains(key.first)) out.insert(key.second);
  }
  return {out.begin(), out.end()};
}

// The main table's longest match for `address`; nullptr when none.
const Route* route_to(const HostView& host, const Ipv6Address& address) {
  const Route* best = nullptr;
  for (const auto& [key, route] : host.observed.routes()) {
    if (route.table == kMainTable && route.destination.contains(address) &&
        (best == nullptr || route.destination.length() > best->destination.length())) {
      best = &route;
    }
  }
  return best;
}

bool own_address(const HostView& host, const Ipv6Address& address) {
  return host.observed.addresses_of(address).begin() != host.observed.addresses_of(address).end();
}

// Alive: held as an address, or a present neighbour, on a downstream interface.
bool alive_downstream(const HostView& host, const Ipv6Address& address) {
  bool alive = false;
  for (const auto& [key, a] : host.observed.addresses_of(address)) {
    alive = alive || host.downstream.contains(key.ifindex);
  }
  for (const auto& [key, info] : host.observed.neighbours_of(address)) {
    alive = alive || (host.downstream.contains(key.ifindex) && info.present());
  }
  return alive;
}

}  // namespace

CheckResult check_outside_prefix(const HostView& host, Findings& findings) {
  if (!host.decision.judged()) return CheckResult::kNotApplicable;
  std::vector<std::string> outside;
  for (const auto& skipped : host.decision.skipped) {
    if (skipped.reason == SkipReason::kOutsidePrefix) {
      outside.push_back(skipped.address.to_string() + " on " + host.name_of(skipped.ifindex));
    }
  }
  if (outside.empty()) return CheckResult::kOk;
  std::string prefixes;
  for (const auto& uplink : host.decision.uplinks) {
    for (const auto& prefix : uplink.prefixes) {
      prefixes += (prefixes.empty() ? "" : ", ") + prefix.to_string();
    }
  }
  findings.add(count(outside.size(), "container address is", "container addresses are") +
                   " outside the uplink's on-link prefix (" + prefixes + "): " + examples(outside) +
                   ". The router never asks for them; they work only if the provider routes "
                   "their prefix to this host",
               "take the containers' addresses from the on-link prefix, or have the provider "
               "route their prefix to this host (then no proxy is needed for them)");
  return CheckResult::kOk;
}

CheckResult check_no_route(const HostView& host, Findings& findings) {
  const auto addresses = proxied(host);
  if (addresses.empty()) return CheckResult::kNotApplicable;
  std::vector<std::string> lost;
  for (const auto& address : addresses) {
    if (own_address(host, address)) continue;
    const auto* route = route_to(host, address);
    const auto* link = route != nullptr ? host.observed.link(route->oif) : nullptr;
    if (link == nullptr || link->loopback || !host.downstream.contains(link->index)) {
      lost.push_back(address.to_string() +
                     (link != nullptr ? " (routed to " + link->name + ")" : " (no route)"));
    }
  }
  if (lost.empty()) return CheckResult::kOk;
  findings.add(count(lost.size(), "proxied address has", "proxied addresses have") +
                   " no route from the host into a container interface: " + examples(lost) +
                   ". The router's packets reach the host and go nowhere (or back out)",
               "give the container side a route: an address with the containers' prefix on the "
               "bridge or veth (e.g. a /112), or ip -6 route add ADDR dev VETH");
  return CheckResult::kOk;
}

CheckResult check_no_neighbour(const HostView& host, Findings& findings) {
  const auto addresses = proxied(host);
  if (addresses.empty()) return CheckResult::kNotApplicable;
  std::vector<std::string> dead;
  for (const auto& address : addresses) {
    if (!alive_downstream(host, address)) dead.push_back(address.to_string());
  }
  if (dead.empty()) return CheckResult::kOk;
  findings.add(count(dead.size(), "address is", "addresses are") +
                   " proxied on the uplink with no live neighbour behind it on a container "
                   "interface: " +
                   examples(dead) +
                   ". The host answers the router for them, and their traffic dies at the host",
               "if ndpsync's agent runs, it withdraws its own such entries after "
               "liveness_timeout; remove the others with ip -6 neigh del proxy ADDR dev UPLINK");
  return CheckResult::kOk;
}

CheckResult check_entries_downstream(const HostView& host, Findings& findings) {
  // Without an uplink, an uplink that is a veth (a lab, a nested container) looks downstream.
  if (host.uplinks.empty()) return CheckResult::kNotApplicable;
  std::vector<std::string> misplaced;
  for (const auto& [key, protocol] : host.observed.proxies()) {
    if (protocol == host.facts.config.owner_protocol && host.downstream.contains(key.first)) {
      misplaced.push_back(key.second.to_string() + " dev " + host.name_of(key.first));
    }
  }
  if (misplaced.empty()) return CheckResult::kOk;
  findings.add(count(misplaced.size(), "ndpsync entry is", "ndpsync entries are") +
                   " on an interface that is not an uplink: " + examples(misplaced) +
                   ". They answer Neighbor Solicitations from the containers' side with the "
                   "host's MAC, so a container can lose its neighbours",
               "ip -6 neigh del proxy ADDR dev IF for each (left by an earlier config; the agent "
               "removes them only on the interfaces it knows as uplinks)");
  return CheckResult::kOk;
}

CheckResult check_foreign_entries(const HostView& host, Findings& findings) {
  if (host.uplinks.empty()) return CheckResult::kNotApplicable;
  // A foreign entry shadows ours when a container holds its address: policy skipped that
  // address as kForeign rather than claim it.
  const auto& skipped = host.decision.skipped;
  std::vector<std::string> foreign;
  for (const auto& entry : host.decision.foreign) {
    const bool shadows = std::any_of(skipped.begin(), skipped.end(), [&](const Skipped& s) {
      return s.reason == SkipReason::kForeign && s.address == entry.address;
    });
    if (shadows) {
      foreign.push_back(entry.address.to_string() + " dev " + host.name_of(entry.ifindex));
    }
  }
  if (foreign.empty()) return CheckResult::kOk;
  findings.add(count(foreign.size(), "proxy entry", "proxy entries") +
                   " for container addresses that ndpsync did not install (no \"proto "
                   "ndpsync\"): " +
                   examples(foreign) +
                   ". ndpsync never touches another owner's entry, so nobody withdraws it when "
                   "the container leaves or moves",
               "ip -6 neigh del proxy ADDR dev UPLINK for each; ndpsync then installs its own");
  return CheckResult::kOk;
}

}  // namespace ndpsync::doctor
