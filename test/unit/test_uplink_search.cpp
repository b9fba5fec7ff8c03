// Zero-config uplink recovery: when something else turned forwarding on while the uplink had
// accept_ra=1, the kernel dropped the RA default route. The uplink is then found from what
// SLAAC left behind, gets accept_ra=2 first, and the next RA brings the route back.
#include "catch2_compat.hpp"

#include "lab.hpp"
#include "ndpsync/agent.hpp"
#include "ndpsync/reconcile_once.hpp"
#include "ndpsync/report.hpp"
#include "ndpsync/uplink_search.hpp"

using namespace ndpsync;
using namespace ndpsync::testing;
using namespace std::chrono_literals;

namespace {

constexpr IfIndex kEth1 = 7;

SysctlKey conf(const char* iface, const char* name) {
  return {SysctlKey::Tree::kConf, iface, name};
}

ObservedState observe(FakeKernel& kernel) {
  ObservedState observed;
  observed.replace(kernel.dump().value);
  return observed;
}

// The standard lab after Docker started: all.forwarding=1 written while eth0 had accept_ra=1,
// so the kernel dropped eth0's RA default route. SLAAC's address, the RA prefix route and the
// router's neighbour entry stay.
void docker_started(FakeKernel& kernel) {
  kernel.sysctls[conf("eth0", "accept_ra")] = "1";
  kernel.sysctls[conf("eth0", "proxy_ndp")] = "0";
  kernel.sysctls[conf("eth0", "forwarding")] = "0";
  REQUIRE(kernel.write_sysctl(conf("all", "forwarding"), "1").ok());
  kernel.sysctls[conf("eth0", "forwarding")] = "1";  // all.forwarding sets every interface
  REQUIRE_FALSE(kernel.has_default_route(kEth0));
  kernel.sysctl_writes.clear();
  kernel.drop_events();
}

// A second interface where SLAAC ran too (a second provider, a management network).
void add_second_slaac(FakeKernel& kernel) {
  kernel.add_link({.index = kEth1, .name = "eth1", .up = true, .carrier = true});
  kernel.add_address(kEth1, "2001:db8:9::ff:fe00:7", 64);  // no IFA_F_PERMANENT: SLAAC's
  kernel.drop_events();
}

std::vector<std::string> names(const UplinkSearch& search) {
  std::vector<std::string> out;
  for (const auto& c : search.candidates) out.push_back(c.name);
  return out;
}

}  // namespace

TEST_CASE("uplink search: what SLAAC leaves behind names the uplink") {
  struct Case {
    const char* description;
    std::function<void(FakeKernel&)> setup;
    std::vector<std::string> expected;
  };
  const auto without_route = [](FakeKernel& k) { k.remove_route("::/0", kEth0); };
  const std::vector<Case> cases = {
      {.description = "the lab without its default route: eth0, on every kind of evidence",
       .setup = without_route,
       .expected = {"eth0"}},
      {.description = "only permanent (hand-made) addresses, routes from the kernel, no router: "
                      "nothing",
       .setup =
           [&](FakeKernel& k) {
             without_route(k);
             k.remove_address(kEth0, "2001:db8:0:1:0:ff:fe00:2");
             k.add_address(kEth0, "2001:db8:0:1::2", 64, kAddrPermanent);
             k.remove_route("2001:db8:0:1::/64", kEth0);
             k.add_route(Route{.destination = prefix("2001:db8:0:1::/64"),
                               .oif = kEth0,
                               .protocol = 2});  // RTPROT_KERNEL
             k.remove_neighbour(kEth0, "fe80::1");
           },
       .expected = {}},
      {.description = "a permanent address with mngtmpaddr counts",
       .setup =
           [&](FakeKernel& k) {
             without_route(k);
             k.remove_route("2001:db8:0:1::/64", kEth0);
             k.remove_neighbour(kEth0, "fe80::1");
             k.remove_address(kEth0, "2001:db8:0:1:0:ff:fe00:2");
             k.add_address(kEth0, "2001:db8:0:1::2", 64, kAddrPermanent | kAddrManageTempAddr);
           },
       .expected = {"eth0"}},
      {.description = "an RA prefix route alone counts",
       .setup =
           [&](FakeKernel& k) {
             without_route(k);
             k.remove_neighbour(kEth0, "fe80::1");
             k.remove_address(kEth0, "2001:db8:0:1:0:ff:fe00:2");
           },
       .expected = {"eth0"}},
      {.description = "a veth and a bridge with SLAAC-like addresses and routers lose to an "
                      "interface that is not container-side",
       .setup =
           [&](FakeKernel& k) {
             without_route(k);
             k.add_address(kVc1, "2001:db8:7::1", 64);
             k.add_address(kBr0, "2001:db8:8::1", 64);
             k.set_neighbour(kBr0, "fe80::99", kNudStale, /*router=*/true);
           },
       .expected = {"eth0"}},
      {.description = "the uplink is a veth (the host is a container): found when alone",
       .setup =
           [&](FakeKernel& k) {
             without_route(k);
             k.add_link({.index = kEth1, .name = "eth1", .kind = "veth", .up = true});
             k.add_address(kEth1, "2001:db8:9::ff:fe00:7", 64);
             k.remove_link(kEth0);
           },
       .expected = {"eth1"}},
      {.description = "two veths with SLAAC addresses: both",
       .setup =
           [&](FakeKernel& k) {
             without_route(k);
             k.add_address(kVc1, "2001:db8:7::1", 64);
             k.remove_link(kEth0);
             k.add_link({.index = kEth1, .name = "eth1", .kind = "veth", .up = true});
             k.add_address(kEth1, "2001:db8:9::ff:fe00:7", 64);
           },
       .expected = {"vc1", "eth1"}},
      {.description = "two interfaces with SLAAC addresses: both, in ifindex order",
       .setup =
           [&](FakeKernel& k) {
             without_route(k);
             add_second_slaac(k);
           },
       .expected = {"eth0", "eth1"}},
      {.description = "a router's RAs elsewhere do not make it ambiguous",
       .setup =
           [&](FakeKernel& k) {
             without_route(k);
             k.add_link({.index = kEth1, .name = "eth1", .up = true, .carrier = true});
             k.set_neighbour(kEth1, "fe80::7", kNudStale, /*router=*/true);
           },
       .expected = {"eth0"}},
      {.description = "with no SLAAC trace anywhere, the router's RAs decide",
       .setup =
           [&](FakeKernel& k) {
             without_route(k);
             k.remove_address(kEth0, "2001:db8:0:1:0:ff:fe00:2");
             k.remove_route("2001:db8:0:1::/64", kEth0);
           },
       .expected = {"eth0"}},
      {.description = "a link that is down is no candidate",
       .setup =
           [&](FakeKernel& k) {
             without_route(k);
             add_second_slaac(k);
             k.set_link_up(kEth1, false);
           },
       .expected = {"eth0"}},
  };
  for (const auto& c : cases) {
    INFO(c.description);
    FakeKernel kernel;
    build_lab(kernel);
    c.setup(kernel);
    CHECK(names(find_slaac_uplink(Config{}, observe(kernel))) == c.expected);
  }
}

TEST_CASE("uplink search: the evidence is named, strongest first") {
  FakeKernel kernel;
  build_lab(kernel);
  kernel.remove_route("::/0", kEth0);
  const auto search = find_slaac_uplink(Config{}, observe(kernel));
  REQUIRE(search.found() != nullptr);
  CHECK(search.found()->evidence == std::vector<UplinkEvidence>{UplinkEvidence::kSlaacAddresses,
                                                                UplinkEvidence::kRaRoutes,
                                                                UplinkEvidence::kRouterNeighbour});
  CHECK(search.found()->evidence_text() == "SLAAC addresses, RA prefix routes and a router's RAs");
}

TEST_CASE("uplink search: a configured downstream interface is never a candidate") {
  FakeKernel kernel;
  build_lab(kernel);
  kernel.remove_route("::/0", kEth0);
  add_second_slaac(kernel);
  Config config;
  config.downstream = {"eth1"};
  CHECK(names(find_slaac_uplink(config, observe(kernel))) == std::vector<std::string>{"eth0"});
  config.downstream = {"eth0", "eth1"};
  CHECK(find_slaac_uplink(config, observe(kernel)).candidates.empty());
}

TEST_CASE("uplinks: a default route wins; a remembered uplink wins over SLAAC elsewhere") {
  FakeKernel kernel;
  build_lab(kernel);
  add_second_slaac(kernel);  // ambiguous, if it came to that
  auto d = decide(Config{}, observe(kernel));
  REQUIRE(d.uplinks.size() == 1);
  CHECK(d.uplinks[0].source == UplinkSource::kDefaultRoute);
  CHECK(d.uplink_candidates.empty());

  kernel.remove_route("::/0", kEth0);
  d = decide(Config{}, observe(kernel), {}, Memory{.uplinks = {"eth0"}, .prefixes = {}});
  REQUIRE(d.uplinks.size() == 1);
  CHECK(d.uplinks[0].name == "eth0");
  CHECK(d.uplinks[0].source == UplinkSource::kRemembered);
  CHECK(d.uplink_candidates.empty());

  // Configured uplinks are never second-guessed.
  Config config;
  config.uplinks = {"eth1"};
  d = decide(config, observe(kernel));
  REQUIRE(d.uplinks.size() == 1);
  CHECK(d.uplinks[0].source == UplinkSource::kConfigured);
}

TEST_CASE("reconcile after Docker: the uplink is found, accept_ra=2 first, entries installed") {
  FakeKernel kernel;
  build_lab(kernel);
  docker_started(kernel);
  const auto report = reconcile_once(kernel, &kernel, Config{});
  CHECK_FALSE(report.failed());
  REQUIRE(report.decision.uplinks.size() == 1);
  const auto& uplink = report.decision.uplinks[0];
  CHECK(uplink.name == "eth0");
  CHECK(uplink.source == UplinkSource::kSlaac);
  REQUIRE_FALSE(kernel.sysctl_writes.empty());
  CHECK(kernel.sysctl_writes.front() == "net.ipv6.conf.eth0.accept_ra=2");
  CHECK(kernel.sysctls[conf("all", "proxy_ndp")] == "1");
  CHECK(report.plan.add.size() == 5);
  CHECK(kernel.has_proxy(kEth0, "2001:db8:0:1::2:2"));
  const auto text = report_text(report);
  INFO(text);
  CHECK(text.find("uplink eth0 found from SLAAC addresses, RA prefix routes and a router's RAs; "
                  "its default route is gone, accept_ra set to 2 so the next RA restores it") !=
        std::string::npos);
  const auto json = report_json(report);
  CHECK(json["uplinks"][0]["source"] == "slaac");
  CHECK(json["uplinks"][0]["evidence"][0] == "slaac-addresses");
  CHECK(json["uplink_candidates"].empty());

  // The next RA: forwarding is on and accept_ra is 2, so the kernel takes it.
  kernel.add_route("::/0", kEth0, "fe80::1");
  const auto again = reconcile_once(kernel, &kernel, Config{});
  CHECK_FALSE(again.failed());
  CHECK(again.decision.uplinks[0].source == UplinkSource::kDefaultRoute);
  CHECK(again.plan.add.empty());
  CHECK(report_text(again).find("found from") == std::string::npos);
}

TEST_CASE("reconcile after Docker, dry run: says what it would set, writes nothing") {
  FakeKernel kernel;
  build_lab(kernel);
  docker_started(kernel);
  Config config;
  config.dry_run = true;
  const auto report = reconcile_once(kernel, &kernel, config);
  CHECK(kernel.sysctl_writes.empty());
  CHECK(report_text(report).find("accept_ra would be set to 2 so the next RA restores it") !=
        std::string::npos);
}

TEST_CASE("reconcile after Docker with two candidates: no guess, nothing written, a failure") {
  FakeKernel kernel;
  build_lab(kernel);
  add_second_slaac(kernel);
  docker_started(kernel);
  const auto before = kernel.proxies();
  const auto report = reconcile_once(kernel, &kernel, Config{});
  CHECK(kernel.sysctl_writes.empty());
  CHECK(kernel.proxies() == before);
  CHECK(report.decision.uplinks.empty());
  REQUIRE(report.failed());
  CHECK(report.failures[0].operation == "uplink");
  CHECK(report.failures[0].target == "eth0,eth1");
  const auto text = report_text(report);
  INFO(text);
  CHECK(text.find("no uplink: no IPv6 default route, and 2 interfaces look like the uplink") !=
        std::string::npos);
  CHECK(text.find("eth0 (SLAAC addresses, RA prefix routes and a router's RAs) and eth1 (SLAAC "
                  "addresses)") != std::string::npos);
  CHECK(text.find("\"uplinks\" in the config") != std::string::npos);
  const auto json = report_json(report);
  CHECK(json["uplink_candidates"].size() == 2);
  CHECK(json["uplink_candidates"][1]["name"] == "eth1");
}

TEST_CASE("reconcile with no uplink and no SLAAC trace: says so, writes nothing") {
  FakeKernel kernel;
  build_lab(kernel);
  kernel.remove_route("::/0", kEth0);
  kernel.remove_route("2001:db8:0:1::/64", kEth0);
  kernel.remove_neighbour(kEth0, "fe80::1");
  kernel.remove_address(kEth0, "2001:db8:0:1:0:ff:fe00:2");
  const auto report = reconcile_once(kernel, &kernel, Config{});
  CHECK(kernel.sysctl_writes.empty());
  CHECK_FALSE(report.failed());
  CHECK(report_text(report).find("no uplink: no IPv6 default route, and no interface shows") !=
        std::string::npos);
}

TEST_CASE("uplink note: what accept_ra means for the route") {
  const Uplink uplink{.index = kEth0,
                      .name = "eth0",
                      .source = UplinkSource::kSlaac,
                      .evidence = {UplinkEvidence::kSlaacAddresses}};
  const auto state = [](std::string found, std::string set, Status status = {}) {
    return std::vector<SysctlState>{
        {.key = conf("eth0", "accept_ra"), .found = found, .set = set, .status = status}};
  };
  CHECK(uplink_note(uplink, state("1", "2"), false) ==
        "uplink eth0 found from SLAAC addresses; its default route is gone, accept_ra set to 2 "
        "so the next RA restores it");
  CHECK(uplink_note(uplink, state("2", ""), false)
            .ends_with("accept_ra is 2 already, so the "
                       "next RA restores it"));
  // 0 is networkd's and NetworkManager's own setting: the note does not prescribe accept_ra=2
  // as if nothing else took the RAs.
  const auto zero = uplink_note(uplink, state("0", ""), false);
  CHECK(zero.find("accept_ra is 0, so the kernel takes no RA there: the network manager that "
                  "takes them") != std::string::npos);
  CHECK(zero.find("accept_ra=2") == std::string::npos);
  CHECK(zero.ends_with("`ndpsync doctor` names the uplink's manager and the fix"));
  CHECK(uplink_note(uplink, state("1", "2", {.error = EACCES, .message = "EACCES"}), false)
            .find("setting accept_ra to 2 failed (EACCES)") != std::string::npos);
  CHECK(uplink_note(uplink, state("1", ""), false)
            .ends_with("its accept_ra (1) was left alone: set net.ipv6.conf.eth0.accept_ra=2 so "
                       "the next RA restores it"));
  auto routed = uplink;
  routed.source = UplinkSource::kDefaultRoute;
  CHECK(uplink_note(routed, state("1", "2"), false).empty());
}

TEST_CASE("agent after Docker: finds the uplink, sets accept_ra=2, follows the route's return") {
  FakeKernel kernel;
  build_lab(kernel);
  docker_started(kernel);
  Config config;
  config.liveness_timeout = 30s;
  AgentCore agent(config, kernel);
  SteadyTime now{};
  agent.resync(now, ResyncReason::kStart);
  REQUIRE_FALSE(kernel.sysctl_writes.empty());
  CHECK(kernel.sysctl_writes.front() == "net.ipv6.conf.eth0.accept_ra=2");
  CHECK(kernel.has_proxy(kEth0, "2001:db8:0:1::1:2"));
  auto status = agent.status(now);
  CHECK(status["uplinks"][0]["name"] == "eth0");
  CHECK(status["uplinks"][0]["source"] == "slaac");
  CHECK(status["uplink_candidates"].empty());

  // The next RA brings the default route back: an event, and the uplink is routed again.
  kernel.add_route("::/0", kEth0, "fe80::1");
  std::vector<KernelEvent> batch;
  kernel.drain(batch);
  agent.on_events(batch, now);
  agent.reconcile(now);
  status = agent.status(now);
  CHECK(status["uplinks"][0]["source"] == "default-route");
  CHECK(kernel.has_proxy(kEth0, "2001:db8:0:1::1:2"));
}

TEST_CASE("agent with no uplink: a SLAAC address appearing later names it") {
  FakeKernel kernel;
  build_lab(kernel);
  kernel.remove_route("::/0", kEth0);
  kernel.remove_route("2001:db8:0:1::/64", kEth0);
  kernel.remove_neighbour(kEth0, "fe80::1");
  kernel.remove_address(kEth0, "2001:db8:0:1:0:ff:fe00:2");
  kernel.sysctls[conf("eth0", "accept_ra")] = "1";
  kernel.drop_events();
  AgentCore agent(Config{}, kernel);
  SteadyTime now{};
  agent.resync(now, ResyncReason::kStart);
  CHECK(agent.status(now)["uplinks"].empty());
  CHECK(kernel.sysctl_writes.empty());

  kernel.add_address(kEth0, "2001:db8:0:1:0:ff:fe00:2", 64);
  std::vector<KernelEvent> batch;
  kernel.drain(batch);
  agent.on_events(batch, now);
  agent.reconcile(now);
  CHECK(agent.status(now)["uplinks"][0]["source"] == "slaac");
  REQUIRE_FALSE(kernel.sysctl_writes.empty());
  CHECK(kernel.sysctl_writes.front() == "net.ipv6.conf.eth0.accept_ra=2");
}

TEST_CASE("agent with two candidates: lists them, writes nothing") {
  FakeKernel kernel;
  build_lab(kernel);
  add_second_slaac(kernel);
  docker_started(kernel);
  AgentCore agent(Config{}, kernel);
  SteadyTime now{};
  agent.resync(now, ResyncReason::kStart);
  CHECK(kernel.sysctl_writes.empty());
  const auto status = agent.status(now);
  CHECK(status["uplinks"].empty());
  REQUIRE(status["uplink_candidates"].size() == 2);
  CHECK(status["uplink_candidates"][0]["name"] == "eth0");
}
