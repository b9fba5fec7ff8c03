// doctor's checks of the rest of the host: the agent, other NDP daemons, the forward firewall,
// the helper programs that read it, the kernel, and the downstream bridges' MACs.
#include <algorithm>
#include <set>

#include "doctor_checks.hpp"
#include "ndpsync/firewall.hpp"

namespace ndpsync::doctor {
namespace {

// /sys/class/net/<if>/addr_assign_type: NET_ADDR_SET, a MAC set by someone (not inherited).
constexpr int kMacSet = 3;

// The containers' side as the firewall's rules may name it.
ContainerSide container_side(const HostView& host) {
  ContainerSide side;
  for (const auto index : host.downstream) side.interfaces.push_back(host.name_of(index));
  for (const auto& [key, entry] : host.decision.desired) side.addresses.push_back(key.second);
  return side;
}

// What to say about a filter that lets nothing in: whose rules they are, and the fix in their
// words.
std::pair<std::string, std::string> firewall_cause_and_fix(const ForwardFilter& filter) {
  const auto mentions = [&](std::string_view word) {
    return filter.chain.find(word) != std::string::npos ||
           std::any_of(filter.rules.begin(), filter.rules.end(),
                       [&](const std::string& r) { return r.find(word) != std::string::npos; });
  };
  const std::string tool(to_string(filter.tool));
  if (mentions("DOCKER")) {
    return {"Docker's " + tool + " rules",
            "ip6tables -I DOCKER-USER -o BRIDGE -j ACCEPT, or publish the ports"};
  }
  if (mentions("ufw")) return {"ufw", "ufw route allow out on BRIDGE (or to PREFIX)"};
  return {tool, filter.tool == FirewallTool::kNft
                    ? "add oifname \"BRIDGE\" accept (or ip6 daddr PREFIX accept) to the forward "
                      "chain"
                    : "ip6tables -I FORWARD -o BRIDGE -j ACCEPT (or -d PREFIX)"};
}

}  // namespace

CheckResult check_agent(const HostView& host, Findings& findings) {
  const auto& facts = host.facts;
  if (!facts.agent) {
    findings.add("no ndpsync agent is running (" + facts.agent_error +
                     "): nothing keeps the proxy table in step with the containers",
                 "systemctl enable --now ndpsync; if it stops again, journalctl -u ndpsync says "
                 "why");
    return CheckResult::kProblem;
  }
  const auto& agent = *facts.agent;
  const auto file = [](const std::optional<std::string>& f) {
    return f ? *f : std::string("no file (built-in defaults)");
  };
  if (agent.config_file != facts.config_file) {
    findings.add("the running agent (pid " + std::to_string(agent.pid) + ") read " +
                     file(agent.config_file) + ", but its config is now " + file(facts.config_file),
                 "ndpsync check-config, then systemctl reload ndpsync");
  } else if (facts.config_file && agent.config_digest != facts.config_digest) {
    findings.add("the config file " + *facts.config_file +
                     " changed after the running agent (pid " + std::to_string(agent.pid) +
                     ") read it: the agent still runs the old config",
                 "ndpsync check-config, then systemctl reload ndpsync");
  }
  return CheckResult::kOk;
}

CheckResult check_conflicting_daemon(const HostView& host, Findings& findings) {
  std::set<std::string> found;
  for (const auto& name : host.facts.processes) {
    if (is_conflicting_daemon(name)) found.insert(name);
  }
  for (const auto& name : found) {
    findings.add(name +
                     " is running: it answers Neighbor Solicitations for the same addresses "
                     "(from userspace, or with proxy entries of its own), so the two fight over "
                     "the table",
                 "run one of them: systemctl disable --now " + name);
  }
  return CheckResult::kOk;
}

CheckResult check_firewall_forward(const HostView& host, Findings& findings) {
  if (!host.facts.firewall_unreadable.empty()) return CheckResult::kNotApplicable;
  const auto side = container_side(host);
  for (const auto& filter : host.facts.forward_filters) {
    if (std::any_of(filter.rules.begin(), filter.rules.end(),
                    [&](const std::string& rule) { return lets_containers_in(rule, side); })) {
      continue;
    }
    const auto [cause, fix] = firewall_cause_and_fix(filter);
    findings.add("the forward firewall (" + cause + ", " + filter.chain +
                     ") drops by default and accepts nothing for the container interfaces or "
                     "addresses: the router's packets reach the host and are dropped there",
                 fix + ", letting in only what the containers should receive");
  }
  return CheckResult::kOk;
}

CheckResult check_helper_programs(const HostView& host, Findings& findings) {
  for (const auto& problem : host.facts.helper_problems) {
    findings.add(problem + ": what it prints is missing from this diagnosis",
                 "run it by hand to see why (a firewall with a huge rule set, a hung lock)");
  }
  return CheckResult::kOk;
}

CheckResult check_kernel_defect(const HostView& host, Findings& findings) {
  const auto& check = host.facts.kernel_check;
  for (const auto& defect : check.defects) {
    findings.add("kernel " + check.release + ": " + defect.id +
                     (defect.exposure == Exposure::kPossibly ? " (possibly)" : "") + ": " +
                     defect.summary,
                 "upgrade to a kernel with the fix (" + defect.fixed_in + ")");
  }
  return CheckResult::kOk;
}

CheckResult check_bridge_mac(const HostView& host, Findings& findings) {
  bool any = false;
  for (const auto index : host.downstream) {
    const auto* link = host.observed.link(index);
    if (link == nullptr || link->kind != "bridge") continue;
    any = true;
    const auto& assignment = host.facts.bridge_mac_assignment;
    const auto it = assignment.find(link->name);
    if (it == assignment.end() || it->second == kMacSet ||
        host.conf_is(link->name, "ndisc_notify", "1")) {
      continue;
    }
    findings.add("the bridge " + link->name +
                     " has no fixed MAC: it takes the lowest MAC of its ports, and when a port "
                     "with a lower one joins, it changes, and idle containers keep sending to "
                     "the old MAC until their neighbour entry expires (seconds to minutes)",
                 "ip link set " + link->name + " address " + link->mac.to_string() +
                     " (and the same in its network config), or sysctl -w net.ipv6.conf." +
                     link->name + ".ndisc_notify=1");
  }
  return any ? CheckResult::kOk : CheckResult::kNotApplicable;
}

}  // namespace ndpsync::doctor
