// doctor's made-up host for the unit tests: the lab host made healthy, to be broken one way at a
// time, and the assertion that exactly one check complains.
#pragma once

#include "catch2_compat.hpp"

#include "doctor.hpp"
#include "lab.hpp"
#include "ndpsync/doctor.hpp"

namespace ndpsync::testing {

inline SysctlKey conf(const std::string& iface, const std::string& name) {
  return {SysctlKey::Tree::kConf, iface, name};
}
inline SysctlKey neigh(const std::string& iface, const std::string& name) {
  return {SysctlKey::Tree::kNeigh, iface, name};
}

// The lab host as ndpsync's agent leaves it: sysctls set, every container proxied.
struct DoctorHost {
  FakeKernel kernel;
  HostFacts facts;

  DoctorHost() {
    build_lab(kernel);
    // The routes the kernel makes for the downstream addresses (proto kernel).
    for (const auto& [text, oif] :
         {std::pair{"2001:db8:0:1::1:0/112", kVc1}, std::pair{"2001:db8:0:1::2:0/112", kBr0}}) {
      kernel.add_route(Route{.destination = *Prefix::parse(text), .oif = oif, .protocol = 2});
    }
    for (const auto* address : {"2001:db8:0:1::1:1", "2001:db8:0:1::1:2", "2001:db8:0:1::2:1",
                                "2001:db8:0:1::2:2", "2001:db8:0:1::2:3"}) {
      kernel.put_proxy(kEth0, address, kOwner);
    }
    facts.config.owner_protocol = kOwner;
    facts.config_file = "/etc/ndpsync/ndpsync.json";
    facts.config_digest = "0123456789abcdef";
    facts.agent = AgentFacts{
        .pid = 42, .config_file = facts.config_file, .config_digest = "0123456789abcdef"};
    for (const auto* name : {"all", "lo", "eth0", "vc1", "br0", "vb2", "vb3"}) {
      facts.sysctls[conf(name, "forwarding")] = "1";
      facts.sysctls[conf(name, "accept_ra")] = "1";
      facts.sysctls[conf(name, "proxy_ndp")] = "0";
      facts.sysctls[conf(name, "ndisc_notify")] = "0";
      facts.sysctls[neigh(name, "proxy_delay")] = "80";
    }
    facts.sysctls[conf("eth0", "accept_ra")] = "2";
    facts.sysctls[conf("all", "proxy_ndp")] = "1";
    facts.sysctls[conf("eth0", "proxy_ndp")] = "1";
    facts.sysctls[neigh("eth0", "proxy_delay")] = "0";
    facts.processes = {"systemd", "sshd", "ndpsync", "bash"};
    facts.bridge_mac_assignment["br0"] = 3;
  }

  Diagnosis diagnose() {
    facts.kernel = kernel.dump().value;
    return ndpsync::diagnose(facts);
  }
};

inline std::vector<std::string> checks_with_problems(const Diagnosis& d) {
  std::vector<std::string> ids;
  for (const auto& f : d.findings) {
    if (ids.empty() || ids.back() != f.check) ids.push_back(f.check);
  }
  return ids;
}

// What one check said of the host: ok, a problem or n/a.
inline CheckResult result_of(const Diagnosis& d, const std::string& check) {
  for (const auto& [id, result] : d.checks) {
    if (id == check) return result;
  }
  FAIL("no check " + check);
  return CheckResult::kNotApplicable;
}

// Exactly one check complains, and its text contains `words`.
inline void expect_only(const Diagnosis& d, const std::string& check, const std::string& words) {
  std::string all;
  for (const auto& f : d.findings) all += f.check + ": " + f.problem + " FIX: " + f.fix + "\n";
  INFO(all);
  REQUIRE(checks_with_problems(d) == std::vector<std::string>{check});
  CHECK_FALSE(d.healthy());
  bool found = false;
  for (const auto& f : d.findings) {
    found = found || (f.problem + " " + f.fix).find(words) != std::string::npos;
    CHECK_FALSE(f.fix.empty());
  }
  CHECK(found);
}

}  // namespace ndpsync::testing
