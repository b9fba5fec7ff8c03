// `ndpsync doctor`'s checks, one function each, grouped by topic: the uplink and its sysctls
// (doctor_checks_uplink.cpp), the proxy entries and the addresses behind them
// (doctor_checks_entries.cpp), and the rest of the host (doctor_checks_host.cpp). diagnose()
// (doctor.cpp) runs them in order. Private to the core library.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ndpsync/doctor.hpp"
#include "ndpsync/observed_state.hpp"

namespace ndpsync::doctor {

// What every check reads: the facts, the kernel in them as an ObservedState, and what ndpsync
// would do on this host.
struct HostView {
  explicit HostView(const HostFacts& facts);

  [[nodiscard]] std::optional<std::string> sysctl(SysctlKey::Tree tree, const std::string& iface,
                                                  const char* name) const;
  [[nodiscard]] std::optional<std::string> conf(const std::string& iface, const char* name) const;
  [[nodiscard]] bool conf_is(const std::string& iface, const char* name, const char* value) const;
  // The link's name; "if<N>" when it is gone.
  [[nodiscard]] std::string name_of(IfIndex index) const;
  // The link's network manager; LinkManager::kNone when it has none we know.
  [[nodiscard]] const LinkOwner& owner(const std::string& name) const;

  const HostFacts& facts;
  ObservedState observed;
  Decision decision;
  std::set<IfIndex> uplinks;
  std::set<IfIndex> downstream;
};

// Where a check puts its problems, each with its fix, under the check's id.
class Findings {
 public:
  Findings(std::vector<Finding>& out, const char* check) : out_(out), check_(check) {}
  void add(std::string problem, std::string fix) {
    out_.push_back({check_, std::move(problem), std::move(fix)});
  }

 private:
  std::vector<Finding>& out_;
  const char* check_;
};

// A check returns kNotApplicable when what it looks at does not exist here, else adds its
// findings (none: kOk; any: diagnose() makes it kProblem).
using Check = CheckResult (*)(const HostView& host, Findings& findings);

// The uplink and its sysctls.
CheckResult check_no_uplink(const HostView& host, Findings& findings);
CheckResult check_ra_route_at_risk(const HostView& host, Findings& findings);
CheckResult check_ra_other_interfaces(const HostView& host, Findings& findings);
CheckResult check_forwarding_off(const HostView& host, Findings& findings);
CheckResult check_proxy_ndp_off(const HostView& host, Findings& findings);
CheckResult check_proxy_delay(const HostView& host, Findings& findings);
CheckResult check_uplink_prefix(const HostView& host, Findings& findings);
CheckResult check_uplink_manager(const HostView& host, Findings& findings);

// The proxy entries and the addresses behind them.
CheckResult check_outside_prefix(const HostView& host, Findings& findings);
CheckResult check_no_route(const HostView& host, Findings& findings);
CheckResult check_no_neighbour(const HostView& host, Findings& findings);
CheckResult check_entries_downstream(const HostView& host, Findings& findings);
CheckResult check_foreign_entries(const HostView& host, Findings& findings);

// The rest of the host: the agent, other daemons, the firewall, the kernel, bridges.
CheckResult check_agent(const HostView& host, Findings& findings);
CheckResult check_conflicting_daemon(const HostView& host, Findings& findings);
CheckResult check_firewall_forward(const HostView& host, Findings& findings);
CheckResult check_helper_programs(const HostView& host, Findings& findings);
CheckResult check_kernel_defect(const HostView& host, Findings& findings);
CheckResult check_bridge_mac(const HostView& host, Findings& findings);

}  // namespace ndpsync::doctor
