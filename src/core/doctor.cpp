// `ndpsync doctor`'s judgement: one function per check, each reading HostFacts only.
#include "ndpsync/doctor.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <functional>
#include <set>

#include "topology.hpp"

namespace ndpsync {
namespace {

// At most this many examples are named in one finding; the count says how many there are.
constexpr std::size_t kExamples = 5;
// /sys/class/net/<if>/addr_assign_type: NET_ADDR_SET, a MAC set by someone (not inherited).
constexpr int kMacSet = 3;

class Checker {
 public:
  explicit Checker(const HostFacts& facts) : facts_(facts) {
    observed_.replace(facts.kernel);
    diagnosis_.decision = decide(facts.config, observed_);
    for (const auto& uplink : diagnosis_.decision.uplinks) uplinks_.insert(uplink.index);
    downstream_.insert(diagnosis_.decision.downstream.begin(),
                       diagnosis_.decision.downstream.end());
  }

  Diagnosis run() && {
    check("agent", [&] { return agent(); });
    check("no-uplink", [&] { return no_uplink(); });
    check("ra-route-at-risk", [&] { return ra_route_at_risk(); });
    check("ra-other-interfaces", [&] { return ra_other_interfaces(); });
    check("forwarding-off", [&] { return forwarding_off(); });
    check("proxy-ndp-off", [&] { return proxy_ndp_off(); });
    check("proxy-delay", [&] { return proxy_delay(); });
    check("uplink-prefix", [&] { return uplink_prefix(); });
    check("outside-prefix", [&] { return outside_prefix(); });
    check("no-route", [&] { return no_route(); });
    check("no-neighbour", [&] { return no_neighbour(); });
    check("entries-downstream", [&] { return entries_downstream(); });
    check("foreign-entries", [&] { return foreign_entries(); });
    check("conflicting-daemon", [&] { return conflicting_daemon(); });
    check("firewall-forward", [&] { return firewall_forward(); });
    check("helper-programs", [&] { return helper_programs(); });
    check("kernel-defect", [&] { return kernel_defect(); });
    check("bridge-mac", [&] { return bridge_mac(); });
    return std::move(diagnosis_);
  }

 private:
  // A check returns kNotApplicable when what it looks at does not exist here, else adds its
  // findings (none: kOk).
  void check(const char* id, const std::function<CheckResult()>& body) {
    current_ = id;
    const auto before = diagnosis_.findings.size();
    auto result = body();
    if (diagnosis_.findings.size() > before) result = CheckResult::kProblem;
    diagnosis_.checks.emplace_back(id, result);
  }
  void add(std::string problem, std::string fix) {
    diagnosis_.findings.push_back({current_, std::move(problem), std::move(fix)});
  }

  [[nodiscard]] std::optional<std::string> sysctl(SysctlKey::Tree tree, const std::string& iface,
                                                  const char* name) const {
    const auto it = facts_.sysctls.find({tree, iface, name});
    if (it == facts_.sysctls.end()) return std::nullopt;
    return it->second;
  }
  [[nodiscard]] std::optional<std::string> conf(const std::string& iface, const char* name) const {
    return sysctl(SysctlKey::Tree::kConf, iface, name);
  }
  [[nodiscard]] bool conf_is(const std::string& iface, const char* name, const char* value) const {
    const auto v = conf(iface, name);
    return v && *v == value;
  }
  [[nodiscard]] std::string name_of(IfIndex index) const {
    const auto* link = observed_.link(index);
    return link != nullptr ? link->name : "if" + std::to_string(index);
  }
  [[nodiscard]] bool running(std::string_view process) const {
    return std::find(facts_.processes.begin(), facts_.processes.end(), process) !=
           facts_.processes.end();
  }
  [[nodiscard]] bool forwarding_on() const { return conf_is("all", "forwarding", "1"); }
  [[nodiscard]] bool has_global_address(IfIndex index) const {
    return std::any_of(observed_.addresses().begin(), observed_.addresses().end(),
                       [&](const auto& item) {
                         const auto& a = item.second.address;
                         return item.first.ifindex == index && !a.is_link_local() &&
                                !a.is_loopback() && !a.is_multicast();
                       });
  }
  [[nodiscard]] bool has_default_route(IfIndex index) const {
    return std::any_of(observed_.routes().begin(), observed_.routes().end(), [&](const auto& item) {
      return item.second.is_default() && item.second.oif == index;
    });
  }
  // Who turns forwarding on behind the admin's back, by the processes that do.
  [[nodiscard]] std::string forwarding_cause() const {
    if (running("dockerd")) return "Docker (dockerd) turns forwarding on when it starts";
    if (running("incusd") || running("lxd")) return "Incus/LXD turns forwarding on for its bridges";
    if (running("libvirtd")) return "libvirt turns forwarding on for its networks";
    if (running("kubelet") || running("k3s-server") || running("k3s-agent")) {
      return "Kubernetes networking turns forwarding on";
    }
    return "forwarding is on (set by ndpsync, a container runtime or a sysctl.d file)";
  }
  // The interfaces that take RAs (accept_ra=1) and show it (an address or a default route),
  // other than uplinks, downstream ones and bridge ports.
  [[nodiscard]] std::vector<const Link*> ra_takers() const {
    std::vector<const Link*> out;
    for (const auto& [index, link] : observed_.links()) {
      if (link.loopback || !link.up || downstream_.contains(index) || link.master != 0 ||
          uplinks_.contains(index) || !conf_is(link.name, "accept_ra", "1") ||
          !(has_global_address(index) || has_default_route(index))) {
        continue;
      }
      out.push_back(&link);
    }
    return out;
  }

  static std::string examples(const std::vector<std::string>& items) {
    std::string text;
    for (std::size_t i = 0; i < items.size() && i < kExamples; ++i) {
      text += (i == 0 ? "" : ", ") + items[i];
    }
    if (items.size() > kExamples)
      text += " and " + std::to_string(items.size() - kExamples) + " more";
    return text;
  }
  static std::string count(std::size_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
  }

  // --- the checks ------------------------------------------------------------------------------

  CheckResult agent() {
    if (!facts_.agent) {
      add("no ndpsync agent is running (" + facts_.agent_error +
              "): nothing keeps the proxy table in step with the containers",
          "systemctl enable --now ndpsync; if it stops again, journalctl -u ndpsync says why");
      return CheckResult::kProblem;
    }
    const auto& agent = *facts_.agent;
    const auto file = [](const std::optional<std::string>& f) {
      return f ? *f : std::string("no file (built-in defaults)");
    };
    if (agent.config_file != facts_.config_file) {
      add("the running agent (pid " + std::to_string(agent.pid) + ") read " +
              file(agent.config_file) + ", but its config is now " + file(facts_.config_file),
          "ndpsync check-config, then systemctl reload ndpsync");
    } else if (facts_.config_file && agent.config_digest != facts_.config_digest) {
      add("the config file " + *facts_.config_file + " changed after the running agent (pid " +
              std::to_string(agent.pid) + ") read it: the agent still runs the old config",
          "ndpsync check-config, then systemctl reload ndpsync");
    }
    return CheckResult::kOk;
  }

  CheckResult no_uplink() {
    const auto& decision = diagnosis_.decision;
    for (const auto& name : decision.missing_uplinks) {
      add("the configured uplink " + name + " does not exist",
          "fix \"uplinks\" in the config (ip -br link lists the interfaces)");
    }
    if (!decision.uplinks.empty() || !decision.missing_uplinks.empty()) return CheckResult::kOk;
    if (!decision.uplink_candidates.empty()) {
      const UplinkSearch search{.candidates = decision.uplink_candidates};
      add(search.message(), "name the uplink in the config (\"uplinks\": [\"" +
                                decision.uplink_candidates.front().name +
                                "\"]), then systemctl reload ndpsync");
      return CheckResult::kProblem;
    }
    add("no uplink: the host has no IPv6 default route, and no interface shows traces of SLAAC "
        "(addresses with a lifetime, RA prefix routes, a router's advertisements), so ndpsync "
        "does not know where the router asks for the containers",
        "check that the provider's router advertises on the uplink (rdisc6 eth0), or name it in "
        "the config (\"uplinks\": [\"eth0\"])");
    return CheckResult::kProblem;
  }

  CheckResult ra_route_at_risk() {
    if (uplinks_.empty()) return CheckResult::kNotApplicable;
    for (const auto& uplink : diagnosis_.decision.uplinks) {
      const bool route_gone = uplink.source == UplinkSource::kSlaac;
      const bool accept_ra_1 = conf_is(uplink.name, "accept_ra", "1");
      if (route_gone && !accept_ra_1) {
        add("the uplink " + uplink.name + " has no default route (found from " +
                UplinkCandidate{
                    .index = uplink.index, .name = uplink.name, .evidence = uplink.evidence}
                    .evidence_text() +
                "): " + forwarding_cause() + ", which dropped it; with accept_ra=" +
                conf(uplink.name, "accept_ra").value_or("?") +
                " only the router's next advertisement brings it back",
            "wait for the next RA (rdisc6 " + uplink.name +
                " asks for one now); if none comes, the router stopped advertising");
      } else if (conf_is(uplink.name, "forwarding", "1") && accept_ra_1) {
        add("the uplink " + uplink.name +
                " has accept_ra=1 while forwarding is on: " + forwarding_cause() +
                ", and then the kernel ignores the router's advertisements, so the host's "
                "default route " +
                (route_gone ? "is gone (dropped when forwarding went on)"
                            : "expires and is not renewed"),
            "sysctl -w net.ipv6.conf." + uplink.name +
                ".accept_ra=2 (ndpsync run does this itself when manage_sysctls is on; the next "
                "RA brings the route back)");
      }
    }
    return CheckResult::kOk;
  }

  CheckResult ra_other_interfaces() {
    // Without an uplink, no-uplink names the interfaces that take RAs.
    if (uplinks_.empty() || (!forwarding_on() && !facts_.config.manage_sysctls)) {
      return CheckResult::kNotApplicable;
    }
    for (const auto* link : ra_takers()) {
      add(link->name +
              " takes router advertisements with accept_ra=1: with forwarding on, the "
              "kernel ignores them, and " +
              link->name + " loses the routes they gave it (its default route)",
          "sysctl -w net.ipv6.conf." + link->name +
              ".accept_ra=2, and put the same line in "
              "/etc/sysctl.d/ (or accept_ra=0 if it should not take RAs)");
    }
    return CheckResult::kOk;
  }

  CheckResult forwarding_off() {
    if (uplinks_.empty()) return CheckResult::kNotApplicable;
    for (const auto& uplink : diagnosis_.decision.uplinks) {
      if (!conf_is(uplink.name, "forwarding", "1")) {
        add("forwarding is off on the uplink " + uplink.name +
                ": the kernel answers no Neighbor Solicitation for proxied addresses and routes "
                "nothing to the containers",
            "sysctl -w net.ipv6.conf.all.forwarding=1 (ndpsync run sets it when manage_sysctls "
            "is on); set accept_ra=2 on the uplink first");
      }
    }
    return CheckResult::kOk;
  }

  CheckResult proxy_ndp_off() {
    if (!conf_is("all", "proxy_ndp", "1")) {
      add("net.ipv6.conf.all.proxy_ndp is " + conf("all", "proxy_ndp").value_or("unreadable") +
              ": the kernel drops the router's unicast Neighbor Solicitations (its reachability "
              "checks), so the router's entries for the containers fail and traffic breaks every "
              "15-30 s",
          "sysctl -w net.ipv6.conf.all.proxy_ndp=1 (ndpsync run sets it when manage_sysctls is "
          "on)");
    }
    return CheckResult::kOk;
  }

  CheckResult proxy_delay() {
    if (uplinks_.empty()) return CheckResult::kNotApplicable;
    for (const auto& uplink : diagnosis_.decision.uplinks) {
      const auto value = sysctl(SysctlKey::Tree::kNeigh, uplink.name, "proxy_delay");
      int delay = 0;
      if (!value ||
          std::from_chars(value->data(), value->data() + value->size(), delay).ec != std::errc{}) {
        continue;
      }
      if (delay > 0) {
        char seconds[16];
        std::snprintf(seconds, sizeof seconds, "%.2f", delay / 100.0);
        add("net.ipv6.neigh." + uplink.name + ".proxy_delay is " + *value +
                " (1/100 s): the kernel answers the router's multicast Neighbor Solicitations "
                "for proxied addresses after a random delay of up to " +
                seconds + " s, so a container's first packet waits that long",
            "\"proxy_delay_ms\": 0 in the config (ndpsync then sets it), or sysctl -w "
            "net.ipv6.neigh." +
                uplink.name + ".proxy_delay=0");
      }
    }
    return CheckResult::kOk;
  }

  CheckResult uplink_prefix() {
    if (uplinks_.empty()) return CheckResult::kNotApplicable;
    for (const auto& uplink : diagnosis_.decision.uplinks) {
      if (uplink.prefixes.empty()) {
        add("the uplink " + uplink.name +
                " has no on-link prefix (no global address with one): the provider routes "
                "addresses to this host rather than asking for them, and routed addresses need "
                "no proxy",
            "if the provider routes a prefix to this host, ndpsync is not needed; otherwise "
            "configure the prefix (\"prefixes\")");
        continue;
      }
      for (const auto& prefix : uplink.prefixes) {
        if (prefix.length() != 64) {
          add("the uplink " + uplink.name + "'s prefix " + prefix.to_string() +
                  " is not a /64: a provider that hands out more than a /64 usually routes it to "
                  "the host (no proxying needed), and a narrower one leaves few addresses on-link",
              "check with the provider which prefix is on-link at its router, and set "
              "\"prefixes\" to it");
        }
      }
    }
    return CheckResult::kOk;
  }

  CheckResult outside_prefix() {
    if (!diagnosis_.decision.judged()) return CheckResult::kNotApplicable;
    std::vector<std::string> outside;
    for (const auto& skipped : diagnosis_.decision.skipped) {
      if (skipped.reason == SkipReason::kOutsidePrefix) {
        outside.push_back(skipped.address.to_string() + " on " + name_of(skipped.ifindex));
      }
    }
    if (!outside.empty()) {
      std::string prefixes;
      for (const auto& uplink : diagnosis_.decision.uplinks) {
        for (const auto& prefix : uplink.prefixes) {
          prefixes += (prefixes.empty() ? "" : ", ") + prefix.to_string();
        }
      }
      add(count(outside.size(), "container address is", "container addresses are") +
              " outside the uplink's on-link prefix (" + prefixes + "): " + examples(outside) +
              ". The router never asks for them; they work only if the provider routes their "
              "prefix to this host",
          "take the containers' addresses from the on-link prefix, or have the provider route "
          "their prefix to this host (then no proxy is needed for them)");
    }
    return CheckResult::kOk;
  }

  // The proxied addresses: every entry on an uplink, ours or not.
  [[nodiscard]] std::vector<Ipv6Address> proxied() const {
    std::set<Ipv6Address> out;
    for (const auto& [key, protocol] : observed_.proxies()) {
      if (uplinks_.contains(key.first)) out.insert(key.second);
    }
    return {out.begin(), out.end()};
  }

  // The main table's longest match for `address`; nullptr when none.
  [[nodiscard]] const Route* route_to(const Ipv6Address& address) const {
    const Route* best = nullptr;
    for (const auto& [key, route] : observed_.routes()) {
      if (route.table == kMainTable && route.destination.contains(address) &&
          (best == nullptr || route.destination.length() > best->destination.length())) {
        best = &route;
      }
    }
    return best;
  }
  [[nodiscard]] bool own_address(const Ipv6Address& address) const {
    return observed_.addresses_of(address).begin() != observed_.addresses_of(address).end();
  }

  CheckResult no_route() {
    const auto addresses = proxied();
    if (addresses.empty()) return CheckResult::kNotApplicable;
    std::vector<std::string> lost;
    for (const auto& address : addresses) {
      if (own_address(address)) continue;
      const auto* route = route_to(address);
      const auto* link = route != nullptr ? observed_.link(route->oif) : nullptr;
      if (link == nullptr || link->loopback || !downstream_.contains(link->index)) {
        lost.push_back(address.to_string() +
                       (link != nullptr ? " (routed to " + link->name + ")" : " (no route)"));
      }
    }
    if (!lost.empty()) {
      add(count(lost.size(), "proxied address has", "proxied addresses have") +
              " no route from the host into a container interface: " + examples(lost) +
              ". The router's packets reach the host and go nowhere (or back out)",
          "give the container side a route: an address with the containers' prefix on the "
          "bridge or veth (e.g. a /112), or ip -6 route add ADDR dev VETH");
    }
    return CheckResult::kOk;
  }

  CheckResult no_neighbour() {
    const auto addresses = proxied();
    if (addresses.empty()) return CheckResult::kNotApplicable;
    std::vector<std::string> dead;
    for (const auto& address : addresses) {
      bool alive = false;
      for (const auto& [key, a] : observed_.addresses_of(address)) {
        alive = alive || downstream_.contains(key.ifindex);
      }
      for (const auto& [key, info] : observed_.neighbours_of(address)) {
        alive = alive || (downstream_.contains(key.ifindex) && info.present());
      }
      if (!alive) dead.push_back(address.to_string());
    }
    if (!dead.empty()) {
      add(count(dead.size(), "address is", "addresses are") +
              " proxied on the uplink with no live neighbour behind it on a container "
              "interface: " +
              examples(dead) +
              ". The host answers the router for them, and their traffic dies at the host",
          "if ndpsync's agent runs, it withdraws its own such entries after liveness_timeout; "
          "remove the others with ip -6 neigh del proxy ADDR dev UPLINK");
    }
    return CheckResult::kOk;
  }

  CheckResult entries_downstream() {
    // Without an uplink, an uplink that is a veth (a lab, a nested container) looks downstream.
    if (uplinks_.empty()) return CheckResult::kNotApplicable;
    std::vector<std::string> misplaced;
    for (const auto& [key, protocol] : observed_.proxies()) {
      if (protocol == facts_.config.owner_protocol && downstream_.contains(key.first)) {
        misplaced.push_back(key.second.to_string() + " dev " + name_of(key.first));
      }
    }
    if (!misplaced.empty()) {
      add(count(misplaced.size(), "ndpsync entry is", "ndpsync entries are") +
              " on an interface that is not an uplink: " + examples(misplaced) +
              ". They answer Neighbor Solicitations from the containers' side with the host's "
              "MAC, so a container can lose its neighbours",
          "ip -6 neigh del proxy ADDR dev IF for each (left by an earlier config; the agent "
          "removes them only on the interfaces it knows as uplinks)");
    }
    return CheckResult::kOk;
  }

  CheckResult foreign_entries() {
    if (uplinks_.empty()) return CheckResult::kNotApplicable;
    // A foreign entry shadows ours when a container holds its address: policy skipped that
    // address as kForeign rather than claim it.
    std::vector<std::string> foreign;
    for (const auto& entry : diagnosis_.decision.foreign) {
      const bool shadows =
          std::any_of(diagnosis_.decision.skipped.begin(), diagnosis_.decision.skipped.end(),
                      [&](const Skipped& s) {
                        return s.reason == SkipReason::kForeign && s.address == entry.address;
                      });
      if (shadows) foreign.push_back(entry.address.to_string() + " dev " + name_of(entry.ifindex));
    }
    if (!foreign.empty()) {
      add(count(foreign.size(), "proxy entry", "proxy entries") +
              " for container addresses that ndpsync did not install (no \"proto ndpsync\"): " +
              examples(foreign) +
              ". ndpsync never touches another owner's entry, so nobody withdraws it when the "
              "container leaves or moves",
          "ip -6 neigh del proxy ADDR dev UPLINK for each; ndpsync then installs its own");
    }
    return CheckResult::kOk;
  }

  CheckResult conflicting_daemon() {
    std::set<std::string> found;
    for (const auto& name : facts_.processes) {
      if (is_conflicting_daemon(name)) found.insert(name);
    }
    for (const auto& name : found) {
      add(name +
              " is running: it answers Neighbor Solicitations for the same addresses (from "
              "userspace, or with proxy entries of its own), so the two fight over the table",
          "run one of them: systemctl disable --now " + name);
    }
    return CheckResult::kOk;
  }

  // True when an accepting rule names a downstream interface or covers a container's address,
  // not only for established connections.
  [[nodiscard]] bool names_downstream(const std::string& word) const {
    // iptables' "veth+" and nft's "veth*" are prefix wildcards.
    const bool wildcard = !word.empty() && (word.back() == '+' || word.back() == '*');
    return std::any_of(downstream_.begin(), downstream_.end(), [&](IfIndex index) {
      const auto name = name_of(index);
      return word == name || (wildcard && name.starts_with(word.substr(0, word.size() - 1)));
    });
  }
  [[nodiscard]] bool covers_container(const std::string& word) const {
    const auto prefix = Prefix::parse(word);
    const auto address = Ipv6Address::parse(word);
    return std::any_of(diagnosis_.decision.desired.begin(), diagnosis_.decision.desired.end(),
                       [&](const auto& item) {
                         const auto& a = item.first.second;
                         return (prefix && prefix->contains(a)) || (address && *address == a);
                       });
  }

  // True when a rule accepts new traffic from the uplink to the containers: it accepts, not only
  // established connections; it matches their output interface (-o, oifname) or destination
  // (-d, daddr); and it does not require a container interface as the input (-i docker0 -o
  // docker0 is traffic between containers). A negated match ("! -o", "!=") matches nothing here.
  [[nodiscard]] bool lets_containers_in(const std::string& rule) const {
    const auto has = [&](std::string_view word) { return rule.find(word) != std::string::npos; };
    if (!(has("ACCEPT") || has("accept")) || has("ESTABLISHED") || has("established")) {
      return false;
    }
    std::vector<std::string> tokens;
    std::string token;
    for (const char c : rule + " ") {
      if (c == ' ' || c == '"' || c == '{' || c == '}' || c == ',') {
        if (!token.empty()) tokens.push_back(std::move(token));
        token.clear();
      } else {
        token += c;
      }
    }
    const auto is_any = [](const std::string& t, std::initializer_list<std::string_view> words) {
      return std::find(words.begin(), words.end(), t) != words.end();
    };
    bool to_containers = false;
    bool negated = false;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      const auto& key = tokens[i];
      if (key == "!") {
        negated = true;
        continue;
      }
      std::size_t v = i + 1;
      if (v < tokens.size() && tokens[v] == "!=") {
        negated = true;
        ++v;
      }
      if (v >= tokens.size()) break;
      const auto& value = tokens[v];
      if (is_any(key, {"-i", "--in-interface", "iifname", "iif"}) && !negated &&
          names_downstream(value)) {
        return false;
      }
      if (!negated &&
          ((is_any(key, {"-o", "--out-interface", "oifname", "oif"}) && names_downstream(value)) ||
           (is_any(key, {"-d", "--destination", "daddr"}) && covers_container(value)))) {
        to_containers = true;
      }
      negated = false;
    }
    return to_containers;
  }

  CheckResult helper_programs() {
    for (const auto& problem : facts_.helper_problems) {
      add(problem + ": what it prints is missing from this diagnosis",
          "run it by hand to see why (a firewall with a huge rule set, a hung lock)");
    }
    return CheckResult::kOk;
  }

  CheckResult firewall_forward() {
    if (!facts_.firewall_unreadable.empty()) return CheckResult::kNotApplicable;
    for (const auto& filter : facts_.forward_filters) {
      if (std::any_of(filter.rules.begin(), filter.rules.end(),
                      [&](const std::string& rule) { return lets_containers_in(rule); })) {
        continue;
      }
      const auto mentions = [&](std::string_view word) {
        return filter.chain.find(word) != std::string::npos ||
               std::any_of(filter.rules.begin(), filter.rules.end(),
                           [&](const std::string& r) { return r.find(word) != std::string::npos; });
      };
      std::string cause = filter.tool;
      std::string fix = filter.tool == "nft"
                            ? "add oifname \"BRIDGE\" accept (or ip6 daddr PREFIX accept) to "
                              "the forward chain"
                            : "ip6tables -I FORWARD -o BRIDGE -j ACCEPT (or -d PREFIX)";
      if (mentions("DOCKER")) {
        cause = "Docker's " + filter.tool + " rules";
        fix = "ip6tables -I DOCKER-USER -o BRIDGE -j ACCEPT, or publish the ports";
      } else if (mentions("ufw")) {
        cause = "ufw";
        fix = "ufw route allow out on BRIDGE (or to PREFIX)";
      }
      add("the forward firewall (" + cause + ", " + filter.chain +
              ") drops by default and accepts nothing for the container interfaces or "
              "addresses: the router's packets reach the host and are dropped there",
          fix + ", letting in only what the containers should receive");
    }
    return CheckResult::kOk;
  }

  CheckResult kernel_defect() {
    for (const auto& defect : facts_.kernel_check.defects) {
      add("kernel " + facts_.kernel_check.release + ": " + defect.id +
              (defect.exposure == Exposure::kPossibly ? " (possibly)" : "") + ": " + defect.summary,
          "upgrade to a kernel with the fix (" + defect.fixed_in + ")");
    }
    return CheckResult::kOk;
  }

  CheckResult bridge_mac() {
    bool any = false;
    for (const auto index : downstream_) {
      const auto* link = observed_.link(index);
      if (link == nullptr || link->kind != "bridge") continue;
      any = true;
      const auto it = facts_.bridge_mac_assignment.find(link->name);
      if (it == facts_.bridge_mac_assignment.end() || it->second == kMacSet ||
          conf_is(link->name, "ndisc_notify", "1")) {
        continue;
      }
      add("the bridge " + link->name +
              " has no fixed MAC: it takes the lowest MAC of its ports, and when a port with a "
              "lower one joins, it changes, and idle containers keep sending to the old MAC "
              "until their neighbour entry expires (seconds to minutes)",
          "ip link set " + link->name + " address " + link->mac.to_string() +
              " (and the same in its network config), or sysctl -w net.ipv6.conf." + link->name +
              ".ndisc_notify=1");
    }
    return any ? CheckResult::kOk : CheckResult::kNotApplicable;
  }

  const HostFacts& facts_;
  ObservedState observed_;
  Diagnosis diagnosis_;
  std::set<IfIndex> uplinks_;
  std::set<IfIndex> downstream_;
  const char* current_ = "";
};

}  // namespace

Diagnosis diagnose(const HostFacts& facts) { return Checker(facts).run(); }

bool is_conflicting_daemon(std::string_view process_name) {
  constexpr std::array<std::string_view, 5> kDaemons{"ndppd", "npd6", "ndproxy", "pndpd",
                                                     "ndpresponder"};
  return std::find(kDaemons.begin(), kDaemons.end(), process_name) != kDaemons.end();
}

}  // namespace ndpsync
