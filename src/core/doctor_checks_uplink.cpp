// doctor's checks of the uplink and its sysctls: is there one, does it keep its default route,
// will the kernel answer for the containers on it.
#include <algorithm>
#include <charconv>
#include <cstdio>

#include "doctor_checks.hpp"

namespace ndpsync::doctor {
namespace {

bool running(const HostView& host, std::string_view process) {
  const auto& processes = host.facts.processes;
  return std::find(processes.begin(), processes.end(), process) != processes.end();
}

// Who turns forwarding on behind the admin's back, by the processes that do.
std::string forwarding_cause(const HostView& host) {
  if (running(host, "dockerd")) return "Docker (dockerd) turns forwarding on when it starts";
  if (running(host, "incusd") || running(host, "lxd")) {
    return "Incus/LXD turns forwarding on for its bridges";
  }
  if (running(host, "libvirtd")) return "libvirt turns forwarding on for its networks";
  if (running(host, "kubelet") || running(host, "k3s-server") || running(host, "k3s-agent")) {
    return "Kubernetes networking turns forwarding on";
  }
  return "forwarding is on (set by ndpsync, a container runtime or a sysctl.d file)";
}

bool has_global_address(const HostView& host, IfIndex index) {
  const auto& addresses = host.observed.addresses();
  return std::any_of(addresses.begin(), addresses.end(), [&](const auto& item) {
    const auto& a = item.second.address;
    return item.first.ifindex == index && !a.is_link_local() && !a.is_loopback() &&
           !a.is_multicast();
  });
}

bool has_default_route(const HostView& host, IfIndex index) {
  const auto& routes = host.observed.routes();
  return std::any_of(routes.begin(), routes.end(), [&](const auto& item) {
    return item.second.is_default() && item.second.oif == index;
  });
}

// The interfaces that take RAs (accept_ra=1) and show it (an address or a default route),
// other than uplinks, downstream ones and bridge ports.
std::vector<const Link*> ra_takers(const HostView& host) {
  std::vector<const Link*> out;
  for (const auto& [index, link] : host.observed.links()) {
    if (link.loopback || !link.up || host.downstream.contains(index) || link.master != 0 ||
        host.uplinks.contains(index) || !host.conf_is(link.name, "accept_ra", "1") ||
        !(has_global_address(host, index) || has_default_route(host, index))) {
      continue;
    }
    out.push_back(&link);
  }
  return out;
}

}  // namespace

CheckResult check_no_uplink(const HostView& host, Findings& findings) {
  const auto& decision = host.decision;
  for (const auto& name : decision.missing_uplinks) {
    findings.add("the configured uplink " + name + " does not exist",
                 "fix \"uplinks\" in the config (ip -br link lists the interfaces)");
  }
  if (!decision.uplinks.empty() || !decision.missing_uplinks.empty()) return CheckResult::kOk;
  if (!decision.uplink_candidates.empty()) {
    const UplinkSearch search{.candidates = decision.uplink_candidates};
    findings.add(search.message(), "name the uplink in the config (\"uplinks\": [\"" +
                                       decision.uplink_candidates.front().name +
                                       "\"]), then systemctl reload ndpsync");
    return CheckResult::kProblem;
  }
  findings.add(
      "no uplink: the host has no IPv6 default route, and no interface shows traces of SLAAC "
      "(addresses with a lifetime, RA prefix routes, a router's advertisements), so ndpsync "
      "does not know where the router asks for the containers",
      "check that the provider's router advertises on the uplink (rdisc6 eth0), or name it in "
      "the config (\"uplinks\": [\"eth0\"])");
  return CheckResult::kProblem;
}

CheckResult check_ra_route_at_risk(const HostView& host, Findings& findings) {
  if (host.uplinks.empty()) return CheckResult::kNotApplicable;
  for (const auto& uplink : host.decision.uplinks) {
    const bool route_gone = uplink.source == UplinkSource::kSlaac;
    const bool accept_ra_1 = host.conf_is(uplink.name, "accept_ra", "1");
    const auto& owner = host.owner(uplink.name);
    if (route_gone && takes_ra_itself(owner.manager)) {
      // Its manager's RA client, not the kernel's: accept_ra stays 0 there, and setting it is
      // the wrong fix (the manager's own setting is what keeps the route).
      findings.add("the uplink " + uplink.name + " has no default route; " +
                       std::string(to_string(owner.manager)) +
                       " owns it and takes the router's advertisements itself",
                   ra_fix(owner, uplink.name));
    } else if (route_gone && !accept_ra_1) {
      findings.add("the uplink " + uplink.name + " has no default route (found from " +
                       UplinkCandidate{
                           .index = uplink.index, .name = uplink.name, .evidence = uplink.evidence}
                           .evidence_text() +
                       "): " + forwarding_cause(host) + ", which dropped it; with accept_ra=" +
                       host.conf(uplink.name, "accept_ra").value_or("?") +
                       " only the router's next advertisement brings it back",
                   "wait for the next RA (rdisc6 " + uplink.name +
                       " asks for one now); if none comes, the router stopped advertising");
    } else if (host.conf_is(uplink.name, "forwarding", "1") && accept_ra_1) {
      findings.add("the uplink " + uplink.name +
                       " has accept_ra=1 while forwarding is on: " + forwarding_cause(host) +
                       ", and then the kernel ignores the router's advertisements, so the "
                       "host's default route " +
                       (route_gone ? "is gone (dropped when forwarding went on)"
                                   : "expires and is not renewed"),
                   "sysctl -w net.ipv6.conf." + uplink.name +
                       ".accept_ra=2 (ndpsync run does this itself when manage_sysctls is on; "
                       "the next RA brings the route back)" +
                       (owner.manager == LinkManager::kNone
                            ? std::string()
                            : "; so that " + std::string(to_string(owner.manager)) +
                                  " keeps it: " + ra_setting(owner, uplink.name)));
    }
  }
  return CheckResult::kOk;
}

CheckResult check_ra_other_interfaces(const HostView& host, Findings& findings) {
  // Without an uplink, no-uplink names the interfaces that take RAs.
  const bool forwarding_on = host.conf_is("all", "forwarding", "1");
  if (host.uplinks.empty() || (!forwarding_on && !host.facts.config.manage_sysctls)) {
    return CheckResult::kNotApplicable;
  }
  for (const auto* link : ra_takers(host)) {
    findings.add(link->name +
                     " takes router advertisements with accept_ra=1: with forwarding on, the "
                     "kernel ignores them, and " +
                     link->name + " loses the routes they gave it (its default route)",
                 "sysctl -w net.ipv6.conf." + link->name +
                     ".accept_ra=2, and put the same line in "
                     "/etc/sysctl.d/ (or accept_ra=0 if it should not take RAs)");
  }
  return CheckResult::kOk;
}

CheckResult check_forwarding_off(const HostView& host, Findings& findings) {
  if (host.uplinks.empty()) return CheckResult::kNotApplicable;
  for (const auto& uplink : host.decision.uplinks) {
    if (!host.conf_is(uplink.name, "forwarding", "1")) {
      findings.add("forwarding is off on the uplink " + uplink.name +
                       ": the kernel answers no Neighbor Solicitation for proxied addresses and "
                       "routes nothing to the containers",
                   "sysctl -w net.ipv6.conf.all.forwarding=1 (ndpsync run sets it when "
                   "manage_sysctls is on); set accept_ra=2 on the uplink first");
    }
  }
  return CheckResult::kOk;
}

CheckResult check_proxy_ndp_off(const HostView& host, Findings& findings) {
  if (!host.conf_is("all", "proxy_ndp", "1")) {
    findings.add("net.ipv6.conf.all.proxy_ndp is " +
                     host.conf("all", "proxy_ndp").value_or("unreadable") +
                     ": the kernel drops the router's unicast Neighbor Solicitations (its "
                     "reachability checks), so the router's entries for the containers fail and "
                     "traffic breaks every 15-30 s",
                 "sysctl -w net.ipv6.conf.all.proxy_ndp=1 (ndpsync run sets it when "
                 "manage_sysctls is on)");
  }
  return CheckResult::kOk;
}

CheckResult check_proxy_delay(const HostView& host, Findings& findings) {
  if (host.uplinks.empty()) return CheckResult::kNotApplicable;
  for (const auto& uplink : host.decision.uplinks) {
    const auto value = host.sysctl(SysctlKey::Tree::kNeigh, uplink.name, "proxy_delay");
    int delay = 0;
    if (!value ||
        std::from_chars(value->data(), value->data() + value->size(), delay).ec != std::errc{}) {
      continue;
    }
    if (delay > 0) {
      char seconds[16];
      std::snprintf(seconds, sizeof seconds, "%.2f", delay / 100.0);
      findings.add("net.ipv6.neigh." + uplink.name + ".proxy_delay is " + *value +
                       " (1/100 s): the kernel answers the router's multicast Neighbor "
                       "Solicitations for proxied addresses after a random delay of up to " +
                       seconds + " s, so a container's first packet waits that long",
                   "\"proxy_delay_ms\": 0 in the config (ndpsync then sets it), or sysctl -w "
                   "net.ipv6.neigh." +
                       uplink.name + ".proxy_delay=0");
    }
  }
  return CheckResult::kOk;
}

CheckResult check_uplink_prefix(const HostView& host, Findings& findings) {
  if (host.uplinks.empty()) return CheckResult::kNotApplicable;
  for (const auto& uplink : host.decision.uplinks) {
    if (uplink.prefixes.empty()) {
      findings.add("the uplink " + uplink.name +
                       " has no on-link prefix (no global address with one): the provider "
                       "routes addresses to this host rather than asking for them, and routed "
                       "addresses need no proxy",
                   "if the provider routes a prefix to this host, ndpsync is not needed; "
                   "otherwise configure the prefix (\"prefixes\")");
      continue;
    }
    for (const auto& prefix : uplink.prefixes) {
      if (prefix.length() != 64) {
        findings.add("the uplink " + uplink.name + "'s prefix " + prefix.to_string() +
                         " is not a /64: a provider that hands out more than a /64 usually "
                         "routes it to the host (no proxying needed), and a narrower one leaves "
                         "few addresses on-link",
                     "check with the provider which prefix is on-link at its router, and set "
                     "\"prefixes\" to it");
      }
    }
  }
  return CheckResult::kOk;
}

// networkd owns the uplink without the two settings a proxying host needs: with forwarding on
// it stops taking the router's advertisements (the default route expires), and each reconfigure
// writes the uplink's proxy_ndp back to 0 (the agent puts it back).
CheckResult check_uplink_manager(const HostView& host, Findings& findings) {
  if (host.uplinks.empty()) return CheckResult::kNotApplicable;
  const bool forwarding =
      host.conf_is("all", "forwarding", "1") || host.facts.config.manage_sysctls;
  for (const auto& uplink : host.decision.uplinks) {
    const auto& owner = host.owner(uplink.name);
    const auto missing = networkd_missing(owner);
    if (missing.empty() || !forwarding) continue;
    findings.add(std::string(to_string(owner.manager)) + " owns the uplink " + uplink.name +
                     (owner.source.empty() ? "" : " (" + owner.source + ")") + " without " +
                     missing +
                     ": on a host that forwards it stops taking the router's advertisements, "
                     "so the default route expires, and each reconfigure writes the uplink's "
                     "proxy_ndp back to 0",
                 ra_fix(owner, uplink.name));
  }
  return CheckResult::kOk;
}

}  // namespace ndpsync::doctor
