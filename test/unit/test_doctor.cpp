// `ndpsync doctor`'s checks on made-up hosts: the lab host made healthy, then broken one way at
// a time. Each check must name its problem, and only its own.
#include <algorithm>

#include "catch2_compat.hpp"
#include "doctor_host.hpp"

namespace ndpsync {
namespace {

using testing::conf;
using testing::DoctorHost;
using testing::expect_only;
using testing::kBr0;
using testing::kEth0;
using testing::kOwner;
using testing::kVc1;
using testing::neigh;

TEST_CASE("doctor: the healthy lab host has no problem, and every check ran") {
  DoctorHost host;
  const auto d = host.diagnose();
  for (const auto& f : d.findings) INFO(f.check + ": " + f.problem);
  CHECK(d.healthy());
  CHECK(d.checks.size() == 19);
  CHECK(d.decision.desired.size() == 5);
}

TEST_CASE("doctor: no agent, and an agent whose config is older than the file") {
  DoctorHost host;
  host.facts.agent.reset();
  host.facts.agent_error = "no agent answers on /run/ndpsync/status.sock";
  expect_only(host.diagnose(), "agent", "no ndpsync agent is running");
  host.facts.agent =
      AgentFacts{.pid = 7, .config_file = host.facts.config_file, .config_digest = "old"};
  expect_only(host.diagnose(), "agent", "changed after the running agent");
  host.facts.agent->config_file.reset();
  expect_only(host.diagnose(), "agent", "built-in defaults");
}

TEST_CASE("doctor: Docker's forwarding ate the RA default route; the uplink found from SLAAC") {
  DoctorHost host;
  host.kernel.remove_route("::/0", kEth0);  // what forwarding=1 did to it with accept_ra=1
  host.facts.sysctls[conf("eth0", "accept_ra")] = "1";
  host.facts.processes.push_back("dockerd");
  auto d = host.diagnose();
  REQUIRE(d.decision.uplinks.size() == 1);
  expect_only(d, "ra-route-at-risk", "Docker (dockerd) turns forwarding on");
  CHECK(d.findings.front().problem.find("is gone") != std::string::npos);
  CHECK(d.findings.front().fix.find("net.ipv6.conf.eth0.accept_ra=2") != std::string::npos);

  SECTION("accept_ra=2 already: waiting for the next RA") {
    host.facts.sysctls[conf("eth0", "accept_ra")] = "2";
    expect_only(host.diagnose(), "ra-route-at-risk", "only the router's next advertisement");
  }
}

TEST_CASE("doctor: no uplink and no trace of SLAAC anywhere") {
  DoctorHost host;
  host.kernel.remove_route("::/0", kEth0);
  host.kernel.remove_route("2001:db8:0:1::/64", kEth0);
  host.kernel.remove_address(kEth0, "2001:db8:0:1:0:ff:fe00:2");
  host.kernel.remove_neighbour(kEth0, "fe80::1");
  expect_only(host.diagnose(), "no-uplink", "no interface shows traces of SLAAC");
}

TEST_CASE("doctor: two interfaces look like the uplink") {
  DoctorHost host;
  host.kernel.remove_route("::/0", kEth0);
  host.kernel.add_link({.index = 9, .name = "eth1", .up = true, .carrier = true});
  host.kernel.add_address(9, "2001:db8:9::5", 64);  // SLAAC's: a lifetime, not permanent
  expect_only(host.diagnose(), "no-uplink", "more than one interface looks like the uplink");
}

TEST_CASE("doctor: a configured uplink that does not exist") {
  DoctorHost host;
  host.facts.config.uplinks = {"eth9"};
  const auto d = host.diagnose();
  CHECK(d.findings.front().check == "no-uplink");
  CHECK(d.findings.front().problem.find("eth9") != std::string::npos);
}

TEST_CASE("doctor: forwarding on with the uplink at accept_ra=1") {
  DoctorHost host;
  host.facts.sysctls[conf("eth0", "accept_ra")] = "1";
  host.facts.processes.push_back("dockerd");
  expect_only(host.diagnose(), "ra-route-at-risk", "Docker");
}

TEST_CASE("doctor: another interface that takes RAs loses its routes to forwarding") {
  DoctorHost host;
  host.kernel.add_link({.index = 9, .name = "eth1", .up = true, .carrier = true});
  host.kernel.add_address(9, "2001:db8:9::5", 64);
  host.facts.sysctls[conf("eth1", "accept_ra")] = "1";
  expect_only(host.diagnose(), "ra-other-interfaces", "eth1");
  host.facts.sysctls[conf("eth1", "accept_ra")] = "2";
  CHECK(host.diagnose().healthy());
}

TEST_CASE("doctor: forwarding off on the uplink") {
  DoctorHost host;
  host.facts.sysctls[conf("eth0", "forwarding")] = "0";
  expect_only(host.diagnose(), "forwarding-off", "forwarding is off");
}

TEST_CASE("doctor: all.proxy_ndp off") {
  DoctorHost host;
  host.facts.sysctls[conf("all", "proxy_ndp")] = "0";
  expect_only(host.diagnose(), "proxy-ndp-off", "unicast Neighbor Solicitations");
}

TEST_CASE("doctor: proxy_delay left at the kernel's 0.8 s") {
  DoctorHost host;
  host.facts.sysctls[neigh("eth0", "proxy_delay")] = "80";
  expect_only(host.diagnose(), "proxy-delay", "0.80 s");
}

TEST_CASE("doctor: an uplink prefix that is not a /64, and none at all") {
  DoctorHost host;
  host.facts.config.prefixes = {*Prefix::parse("2001:db8::/48")};
  expect_only(host.diagnose(), "uplink-prefix", "not a /64");
}

TEST_CASE("doctor: an uplink with no on-link prefix (the provider routes to the host)") {
  DoctorHost host;
  host.kernel.remove_address(kEth0, "2001:db8:0:1:0:ff:fe00:2");
  const auto d = host.diagnose();
  CHECK(testing::result_of(d, "uplink-prefix") == CheckResult::kProblem);
  CHECK(std::any_of(d.findings.begin(), d.findings.end(), [](const Finding& f) {
    return f.check == "uplink-prefix" &&
           f.problem.find("has no on-link prefix") != std::string::npos;
  }));
}

TEST_CASE("doctor: a proxy_delay that cannot be read or parsed is no finding") {
  DoctorHost host;
  host.facts.sysctls[neigh("eth0", "proxy_delay")] = "slow";
  CHECK(host.diagnose().healthy());
  host.facts.sysctls.erase(neigh("eth0", "proxy_delay"));
  CHECK(host.diagnose().healthy());
}

TEST_CASE("doctor: a check with nothing to look at says n/a, not ok") {
  using testing::result_of;
  DoctorHost host;
  auto d = host.diagnose();
  for (const auto& [id, result] : d.checks) {
    INFO(id);
    CHECK(result == CheckResult::kOk);
  }
  SECTION("no uplink: the uplink's checks and the downstream entries' check") {
    host.kernel.remove_route("::/0", kEth0);
    host.kernel.remove_route("2001:db8:0:1::/64", kEth0);
    host.kernel.remove_address(kEth0, "2001:db8:0:1:0:ff:fe00:2");
    host.kernel.remove_neighbour(kEth0, "fe80::1");
    d = host.diagnose();
    for (const auto* id : {"ra-route-at-risk", "ra-other-interfaces", "forwarding-off",
                           "proxy-delay", "uplink-prefix", "uplink-manager", "outside-prefix",
                           "no-route", "no-neighbour", "entries-downstream", "foreign-entries"}) {
      INFO(id);
      CHECK(result_of(d, id) == CheckResult::kNotApplicable);
    }
  }
  SECTION("forwarding off and sysctls left alone: nothing ignores RAs") {
    host.facts.sysctls[conf("all", "forwarding")] = "0";
    host.facts.config.manage_sysctls = false;
    CHECK(result_of(host.diagnose(), "ra-other-interfaces") == CheckResult::kNotApplicable);
  }
  SECTION("no downstream bridge") {
    host.facts.config.downstream = {"vc1"};
    CHECK(result_of(host.diagnose(), "bridge-mac") == CheckResult::kNotApplicable);
  }
}

TEST_CASE("doctor: container addresses outside the uplink's prefix (routed to the host)") {
  DoctorHost host;
  host.kernel.add_address(kVc1, "2001:db8:77::1", 64);
  expect_only(host.diagnose(), "outside-prefix", "2001:db8:77::1");
}

TEST_CASE("doctor: a proxied address the host has no route for") {
  DoctorHost host;
  host.kernel.remove_route("2001:db8:0:1::1:0/112", kVc1);
  const auto d = host.diagnose();
  expect_only(d, "no-route", "2001:db8:0:1::1:2 (routed to eth0)");
}

TEST_CASE("doctor: a proxied address with no live neighbour behind it") {
  DoctorHost host;
  host.kernel.put_proxy(kEth0, "2001:db8:0:1::2:99", 0);  // by hand: nobody holds it
  expect_only(host.diagnose(), "no-neighbour", "2001:db8:0:1::2:99");
  host.kernel.set_neighbour(kBr0, "2001:db8:0:1::2:99", kNudFailed);
  expect_only(host.diagnose(), "no-neighbour", "2001:db8:0:1::2:99");
}

TEST_CASE("doctor: our entries on a downstream interface") {
  DoctorHost host;
  host.kernel.put_proxy(kBr0, "2001:db8:0:1::2:2", kOwner);
  expect_only(host.diagnose(), "entries-downstream", "2001:db8:0:1::2:2 dev br0");
}

TEST_CASE("doctor: a foreign entry that shadows ours") {
  DoctorHost host;
  host.kernel.put_proxy(kEth0, "2001:db8:0:1::2:3", 0);
  expect_only(host.diagnose(), "foreign-entries", "2001:db8:0:1::2:3 dev eth0");
}

TEST_CASE("doctor: a conflicting daemon") {
  DoctorHost host;
  host.facts.processes.push_back("ndppd");
  expect_only(host.diagnose(), "conflicting-daemon", "systemctl disable --now ndppd");
  CHECK(is_conflicting_daemon("npd6"));
  CHECK_FALSE(is_conflicting_daemon("ndpsync"));
}

TEST_CASE("doctor: a forward firewall that drops the containers' traffic") {
  DoctorHost host;
  host.facts.forward_filters.push_back({.tool = FirewallTool::kIp6tables,
                                        .chain = "FORWARD",
                                        .rules = {"-A FORWARD -m conntrack --ctstate "
                                                  "RELATED,ESTABLISHED -j ACCEPT"}});
  expect_only(host.diagnose(), "firewall-forward", "ip6tables -I FORWARD -o BRIDGE");

  SECTION("an accept for a container interface lets them in") {
    host.facts.forward_filters.back().rules.push_back("-A FORWARD -o br0 -j ACCEPT");
    host.facts.forward_filters.back().rules.push_back("-A FORWARD -o vc+ -j ACCEPT");
    CHECK(host.diagnose().healthy());
  }
  SECTION("so does one for their prefix, in nft's words") {
    host.facts.forward_filters.back() = {.tool = FirewallTool::kNft,
                                         .chain = "inet filter forward",
                                         .rules = {"ip6 daddr 2001:db8:0:1::/64 accept"}};
    CHECK(host.diagnose().healthy());
  }
  SECTION("Docker's and ufw's chains are named") {
    host.facts.forward_filters.back().rules.push_back("-A FORWARD -j DOCKER-USER");
    expect_only(host.diagnose(), "firewall-forward", "DOCKER-USER");
    host.facts.forward_filters.back().rules.back() = "-A FORWARD -j ufw6-before-forward";
    expect_only(host.diagnose(), "firewall-forward", "ufw route allow");
  }
  SECTION("an unreadable firewall is not applicable, not healthy by guess") {
    host.facts.firewall_unreadable = "not root";
    const auto d = host.diagnose();
    CHECK(d.healthy());
    CHECK(std::find(d.checks.begin(), d.checks.end(),
                    std::pair<std::string, CheckResult>{
                        "firewall-forward", CheckResult::kNotApplicable}) != d.checks.end());
  }
}

TEST_CASE("doctor: Docker's own ip6tables rules, as ip6tables -S prints them") {
  const auto filter = ip6tables_filter(R"(-P INPUT ACCEPT
-P FORWARD DROP
-P OUTPUT ACCEPT
-N DOCKER
-N DOCKER-ISOLATION-STAGE-1
-N DOCKER-USER
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-ISOLATION-STAGE-1
-A FORWARD -o br0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o br0 -j DOCKER
-A FORWARD -i br0 ! -o br0 -j ACCEPT
-A FORWARD -i br0 -o br0 -j ACCEPT
-A DOCKER-USER -j RETURN
)");
  REQUIRE(filter);
  CHECK(filter->rules.size() == 7);
  DoctorHost host;
  host.facts.forward_filters = {*filter};
  expect_only(host.diagnose(), "firewall-forward", "DOCKER-USER");

  SECTION("the recipe's accept in DOCKER-USER lets the router in") {
    host.facts.forward_filters.back().rules.push_back("-A DOCKER-USER -o br0 -j ACCEPT");
    CHECK(host.diagnose().healthy());
  }
  SECTION("an accept for another destination does not") {
    host.facts.forward_filters.back().rules.push_back(
        "-A DOCKER-USER -d 2001:db8:9::/64 -j ACCEPT");
    host.facts.forward_filters.back().rules.push_back("-A DOCKER-USER ! -o br0 -j ACCEPT");
    CHECK_FALSE(host.diagnose().healthy());
  }
  SECTION("a FORWARD policy of ACCEPT is no filter") {
    CHECK_FALSE(ip6tables_filter("-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n"));
  }
}

TEST_CASE("doctor: nft forward chains with a drop policy") {
  const std::string ruleset = R"(table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		iifname "br0" oifname != "br0" accept
	}
}
table ip6 filter {
	chain FORWARD {
		type filter hook forward priority filter; policy drop;
	}
}
table ip filter {
	chain forward {
		type filter hook forward priority filter; policy drop;
	}
}
)";
  const auto filters = nft_filters(ruleset, Ip6tablesTable::kSkip);
  REQUIRE(filters.size() == 1);
  CHECK(filters[0].chain == "inet filter forward");
  CHECK(filters[0].rules.size() == 2);
  CHECK(nft_filters(ruleset, Ip6tablesTable::kInclude).size() == 2);
  DoctorHost host;
  host.facts.forward_filters = filters;
  expect_only(host.diagnose(), "firewall-forward", "oifname");
  host.facts.forward_filters[0].rules.push_back(
      "oifname \"vc1\" ip6 daddr 2001:db8:0:1::1:0/112 accept");
  CHECK(host.diagnose().healthy());
}

TEST_CASE("doctor: a kernel with a known defect") {
  DoctorHost host;
  host.facts.kernel_check = check_kernel("4.19.0-27-amd64", "#1 SMP Debian 4.19.316-1");
  expect_only(host.diagnose(), "kernel-defect", "no-proxy-protocol");
}

TEST_CASE("doctor: a downstream bridge without a fixed MAC") {
  DoctorHost host;
  host.facts.bridge_mac_assignment["br0"] = 1;  // NET_ADDR_RANDOM
  expect_only(host.diagnose(), "bridge-mac", "ip link set br0 address");
  host.facts.sysctls[conf("br0", "ndisc_notify")] = "1";
  CHECK(host.diagnose().healthy());
}

TEST_CASE("doctor: the uplink's network manager, and its own fix") {
  DoctorHost host;
  SECTION("networkd (netplan's file) without IPv6AcceptRA and IPv6ProxyNDP") {
    host.facts.link_owners["eth0"] = {.manager = LinkManager::kNetplan,
                                      .source = "/run/systemd/network/10-netplan-eth0.network",
                                      .settings = {{"IPv6AcceptRA", "yes"}}};
    const auto d = host.diagnose();
    expect_only(d, "uplink-manager", "netplan (systemd-networkd) owns the uplink eth0");
    CHECK(d.findings.front().problem.find("without IPv6ProxyNDP=yes:") != std::string::npos);
    CHECK(d.findings.front().fix.find(
              "/etc/systemd/network/10-netplan-eth0.network.d/ndpsync.conf") != std::string::npos);
    CHECK(d.uplink_owners.at("eth0").manager == LinkManager::kNetplan);
    host.facts.link_owners["eth0"].settings["IPv6ProxyNDP"] = "true";
    CHECK(host.diagnose().healthy());
  }
  SECTION("NetworkManager: its route gone, accept_ra 0 is its own; no accept_ra=2 advice") {
    host.facts.link_owners["eth0"] = {.manager = LinkManager::kNetworkManager,
                                      .source = "0d3c2d6e-8c6b-4d43-9a53-5b3a5d2f3b11",
                                      .settings = {}};
    host.kernel.remove_route("::/0", kEth0);  // nmcli connection down, before up
    host.facts.sysctls[conf("eth0", "accept_ra")] = "0";
    const auto d = host.diagnose();
    expect_only(d, "ra-route-at-risk", "NetworkManager owns it and takes the router's");
    CHECK(d.findings.front().fix.find("accept_ra=2") == std::string::npos);
    CHECK(d.findings.front().fix.find("nmcli connection modify "
                                      "0d3c2d6e-8c6b-4d43-9a53-5b3a5d2f3b11 ipv6.method auto") !=
          std::string::npos);
  }
  SECTION("ifupdown with accept_ra=1 under forwarding: the stanza's own setting too") {
    host.facts.link_owners["eth0"] = {
        .manager = LinkManager::kIfupdown, .source = "/etc/network/interfaces", .settings = {}};
    host.facts.sysctls[conf("eth0", "accept_ra")] = "1";
    const auto d = host.diagnose();
    expect_only(d, "ra-route-at-risk", "accept_ra=1 while forwarding is on");
    CHECK(d.findings.front().fix.find("so that ifupdown keeps it: accept_ra 2 in the `iface eth0 "
                                      "inet6 auto` stanza") != std::string::npos);
  }
}

}  // namespace
}  // namespace ndpsync
