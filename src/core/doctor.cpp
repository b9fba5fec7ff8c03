// `ndpsync doctor`'s judgement: the checks (doctor_checks_*.cpp), each reading HostFacts only,
// run in a fixed order.
#include "ndpsync/doctor.hpp"

#include <algorithm>
#include <array>

#include "doctor_checks.hpp"

namespace ndpsync {
namespace doctor {

HostView::HostView(const HostFacts& facts) : facts(facts) {
  observed.replace(facts.kernel);
  decision = decide(facts.config, observed);
  for (const auto& uplink : decision.uplinks) uplinks.insert(uplink.index);
  downstream.insert(decision.downstream.begin(), decision.downstream.end());
}

std::optional<std::string> HostView::sysctl(SysctlKey::Tree tree, const std::string& iface,
                                            const char* name) const {
  const auto it = facts.sysctls.find({tree, iface, name});
  if (it == facts.sysctls.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> HostView::conf(const std::string& iface, const char* name) const {
  return sysctl(SysctlKey::Tree::kConf, iface, name);
}

bool HostView::conf_is(const std::string& iface, const char* name, const char* value) const {
  const auto v = conf(iface, name);
  return v && *v == value;
}

std::string HostView::name_of(IfIndex index) const {
  return interface_name(observed.link(index), index);
}

const LinkOwner& HostView::owner(const std::string& name) const {
  static const LinkOwner kNobody;
  const auto it = facts.link_owners.find(name);
  return it == facts.link_owners.end() ? kNobody : it->second;
}

namespace {

struct NamedCheck {
  const char* id;
  Check run;
};

// Every check, in the order doctor reports them.
constexpr std::array<NamedCheck, 19> kChecks{{
    {"agent", check_agent},
    {"no-uplink", check_no_uplink},
    {"ra-route-at-risk", check_ra_route_at_risk},
    {"ra-other-interfaces", check_ra_other_interfaces},
    {"forwarding-off", check_forwarding_off},
    {"proxy-ndp-off", check_proxy_ndp_off},
    {"proxy-delay", check_proxy_delay},
    {"uplink-prefix", check_uplink_prefix},
    {"uplink-manager", check_uplink_manager},
    {"outside-prefix", check_outside_prefix},
    {"no-route", check_no_route},
    {"no-neighbour", check_no_neighbour},
    {"entries-downstream", check_entries_downstream},
    {"foreign-entries", check_foreign_entries},
    {"conflicting-daemon", check_conflicting_daemon},
    {"firewall-forward", check_firewall_forward},
    {"helper-programs", check_helper_programs},
    {"kernel-defect", check_kernel_defect},
    {"bridge-mac", check_bridge_mac},
}};

}  // namespace
}  // namespace doctor

Diagnosis diagnose(const HostFacts& facts) {
  doctor::HostView host(facts);
  Diagnosis diagnosis;
  for (const auto& check : doctor::kChecks) {
    const auto before = diagnosis.findings.size();
    doctor::Findings findings(diagnosis.findings, check.id);
    auto result = check.run(host, findings);
    if (diagnosis.findings.size() > before) result = CheckResult::kProblem;
    diagnosis.checks.emplace_back(check.id, result);
  }
  for (const auto& uplink : host.decision.uplinks) {
    if (const auto& owner = host.owner(uplink.name); owner.manager != LinkManager::kNone) {
      diagnosis.uplink_owners[uplink.name] = owner;
    }
  }
  diagnosis.decision = std::move(host.decision);
  return diagnosis;
}

bool is_conflicting_daemon(std::string_view process_name) {
  constexpr std::array<std::string_view, 5> kDaemons{"ndppd", "npd6", "ndproxy", "pndpd",
                                                     "ndpresponder"};
  return std::find(kDaemons.begin(), kDaemons.end(), process_name) != kDaemons.end();
}

}  // namespace ndpsync
