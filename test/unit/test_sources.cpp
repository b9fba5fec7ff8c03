// Sources that need no event from the container: /128 routes into a downstream interface (routed
// NICs), the config's static addresses, and uplinks with prefixes of their own.
#include "catch2_compat.hpp"

#include "agent_harness.hpp"
#include "ndpsync/policy.hpp"

using namespace ndpsync;
using namespace ndpsync::testing;
using namespace std::chrono_literals;
using ndpsync::testing::HasSubstring;

namespace {

constexpr IfIndex kEth1 = 7;

ObservedState observe(FakeKernel& kernel) {
  ObservedState observed;
  observed.replace(kernel.dump().value);
  return observed;
}

std::optional<SkipReason> skip_reason(const Decision& d, std::string_view address) {
  for (const auto& s : d.skipped) {
    if (s.address == ip(address)) return s.reason;
  }
  return std::nullopt;
}

// A routed NIC's host side: `ip -6 route add ADDR/128 dev IF`, no address, no neighbour.
Route host_route(std::string_view address, IfIndex oif,
                 std::optional<std::string_view> gateway = std::nullopt) {
  Route route{.destination = prefix(std::string(address) + "/128"), .oif = oif, .protocol = 3};
  if (gateway) route.gateway = ip(*gateway);
  return route;
}

// The lab plus a second uplink, eth1, on 2001:db8:0:2::/64 (a VLAN uplink with its own /64).
void add_second_uplink(FakeKernel& k) {
  k.add_link({.index = kEth1,
              .name = "eth1",
              .up = true,
              .carrier = true,
              .mac = mac("02:00:00:00:01:02")});
  k.add_address(kEth1, "2001:db8:0:2::2", 64, kAddrPermanent);
  k.add_route("2001:db8:0:2::/64", kEth1, std::nullopt);
  k.set_neighbour(kBr0, "2001:db8:0:2::2:9", kNudReachable);
  k.drop_events();
}

struct Harness : AgentHarness {
  using AgentHarness::AgentHarness;
  [[nodiscard]] std::string source_of(std::string_view address) const {
    const auto status = agent->status(now);  // kept: a loop over a temporary's member dangles
    for (const auto& e : status["entries"]) {
      if (e["address"] == std::string(address)) {
        return e["source"].get<std::string>() + "@" + e["interface"].get<std::string>();
      }
    }
    return "absent";
  }
};

}  // namespace

TEST_CASE("sources: a /128 route into a downstream interface is an address to mirror") {
  struct Case {
    const char* description;
    Route route;
    Config config;
    std::optional<SkipReason> reason;  // nullopt: claimed
    bool ignored = false;              // not a candidate at all
  };
  Config capped;
  capped.max_entries_per_interface = 1;  // vc1's configured ::1:1 is first in line
  Config denied;
  denied.deny = {prefix("2001:db8:0:1::3:0/112")};
  Case cases[] = {
      {.description = "routed NIC: no gateway, on a veth",
       .route = host_route("2001:db8:0:1::3:1", kVc1),
       .reason = std::nullopt},
      {.description = "into the bridge",
       .route = host_route("2001:db8:0:1::3:2", kBr0),
       .reason = std::nullopt},
      {.description = "outside the prefix",
       .route = host_route("2001:db8:9::3:3", kVc1),
       .reason = SkipReason::kOutsidePrefix},
      {.description = "denied",
       .route = host_route("2001:db8:0:1::3:4", kVc1),
       .config = denied,
       .reason = SkipReason::kDenied},
      {.description = "the host's own uplink address",
       .route = host_route("2001:db8:0:1:0:ff:fe00:2", kVc1),
       .reason = SkipReason::kUplinkAddress},
      {.description = "over the per-interface cap",
       .route = host_route("2001:db8:0:1::3:5", kVc1),
       .config = capped,
       .reason = SkipReason::kCap},
      {.description = "through a gateway: a router's client, not a source",
       .route = host_route("2001:db8:0:1::3:6", kVc1, "fe80::c2"),
       .ignored = true},
      {.description = "a /120 is not a host route",
       .route = {.destination = prefix("2001:db8:0:1::3:0/120"), .oif = kVc1},
       .ignored = true},
      {.description = "another table",
       .route = {.destination = prefix("2001:db8:0:1::3:7/128"), .oif = kVc1, .table = 100},
       .ignored = true},
      {.description = "on the uplink",
       .route = host_route("2001:db8:0:1::3:8", kEth0),
       .ignored = true},
  };
  for (const auto& c : cases) {
    INFO(c.description);
    FakeKernel kernel;
    build_lab(kernel);
    kernel.add_route(c.route);
    const auto d = decide(c.config, observe(kernel));
    const auto address = c.route.destination.network();
    const auto it = d.desired.find({kEth0, address});
    if (c.ignored) {
      CHECK(it == d.desired.end());
      CHECK_FALSE(skip_reason(d, address.to_string()));
    } else if (c.reason) {
      CHECK(it == d.desired.end());
      CHECK(skip_reason(d, address.to_string()) == c.reason);
    } else {
      REQUIRE(it != d.desired.end());
      CHECK(it->second.source == Source::kRoute);
      CHECK(it->second.source_ifindex == c.route.oif);
    }
  }
}

TEST_CASE("sources: a route to the router's address gains nothing") {
  FakeKernel kernel;
  build_lab(kernel);
  // The router is a gateway of the uplink: its router flag alone is a claim anyone can forge.
  kernel.add_route("::/0", kEth0, "2001:db8:0:1::1");
  kernel.set_neighbour(kEth0, "2001:db8:0:1::1", kNudReachable, /*router=*/true);
  kernel.add_route(host_route("2001:db8:0:1::1", kVc1));
  const auto d = decide(Config{}, observe(kernel));
  CHECK_FALSE(d.desired.contains({kEth0, ip("2001:db8:0:1::1")}));
  CHECK(skip_reason(d, "2001:db8:0:1::1") == SkipReason::kUplinkRouter);
}

TEST_CASE("sources: a configured address outranks the route to it") {
  FakeKernel kernel;
  build_lab(kernel);
  kernel.add_route(host_route("2001:db8:0:1::1:1", kVc1));
  const auto d = decide(Config{}, observe(kernel));
  CHECK(d.desired.at({kEth0, ip("2001:db8:0:1::1:1")}).source == Source::kAddress);
}

TEST_CASE("sources: static addresses pass the same guards") {
  Config config;
  config.deny = {prefix("2001:db8:0:1::dead:0/112")};
  config.static_addresses = {
      {"eth0",
       {ip("2001:db8:0:1::5:5"), ip("2001:db8:0:1::1"), ip("2001:db8:0:1::dead:1"),
        ip("2001:db8:9::5"), ip("2001:db8:0:1:0:ff:fe00:2"), ip("fe80::5")}},
      {"eth9", {ip("2001:db8:0:1::5:9")}},  // no such uplink
  };
  FakeKernel kernel;
  build_lab(kernel);
  // The router: its global address at the MAC of the gateway's entry, with NTF_ROUTER.
  kernel.add_route("::/0", kEth0, "fe80::1");
  kernel.set_neighbour(kEth0, "fe80::1", kNudReachable, /*router=*/true, "02:00:00:00:00:fe");
  kernel.set_neighbour(kEth0, "2001:db8:0:1::1", kNudReachable, /*router=*/true,
                       "02:00:00:00:00:fe");
  const auto d = decide(config, observe(kernel));
  const auto& claim = d.desired.at({kEth0, ip("2001:db8:0:1::5:5")});
  CHECK(claim.source == Source::kStatic);
  CHECK(claim.source_ifindex == 0);
  CHECK(skip_reason(d, "2001:db8:0:1::1") == SkipReason::kUplinkRouter);
  CHECK(skip_reason(d, "2001:db8:0:1::dead:1") == SkipReason::kDenied);
  CHECK(skip_reason(d, "2001:db8:9::5") == SkipReason::kOutsidePrefix);
  CHECK(skip_reason(d, "2001:db8:0:1:0:ff:fe00:2") == SkipReason::kUplinkAddress);
  CHECK(skip_reason(d, "fe80::5") == SkipReason::kLinkLocal);
  CHECK(skip_reason(d, "2001:db8:0:1::5:9") == SkipReason::kOutsidePrefix);
  CHECK(d.desired.size() == 6);  // the lab's five and ::5:5

  SECTION("a cap counts them too") {
    config.max_entries = 5;  // the lab's configured addresses and ::5:5 come first
    const auto capped = decide(config, observe(kernel));
    CHECK(capped.desired.size() == 5);
    CHECK(capped.admitted == 5);
    CHECK(skip_reason(capped, "2001:db8:0:1::2:3") == SkipReason::kCap);
  }
}

TEST_CASE("sources: each uplink claims only what its own prefixes contain") {
  FakeKernel kernel;
  build_lab(kernel);
  add_second_uplink(kernel);
  Config config;
  config.uplinks = {"eth0", "eth1"};
  config.prefixes = {prefix("2001:db8::/32")};  // would cover both /64s
  config.uplink_prefixes = {{"eth0", {prefix("2001:db8:0:1::/64")}},
                            {"eth1", {prefix("2001:db8:0:2::/64")}}};
  config.static_addresses = {{"eth1", {ip("2001:db8:0:2::5:1"), ip("2001:db8:0:1::5:2")}}};
  kernel.add_route(host_route("2001:db8:0:2::3:1", kVc1));
  const auto d = decide(config, observe(kernel));
  REQUIRE(d.uplinks.size() == 2);
  CHECK(d.uplinks[0].prefixes == std::vector<Prefix>{prefix("2001:db8:0:1::/64")});
  CHECK(d.uplinks[1].prefixes == std::vector<Prefix>{prefix("2001:db8:0:2::/64")});
  for (const char* a : {"2001:db8:0:1::1:2", "2001:db8:0:1::2:3"}) {
    INFO(a);
    CHECK(d.desired.contains({kEth0, ip(a)}));
    CHECK_FALSE(d.desired.contains({kEth1, ip(a)}));
  }
  for (const char* a : {"2001:db8:0:2::2:9", "2001:db8:0:2::5:1", "2001:db8:0:2::3:1"}) {
    INFO(a);
    CHECK(d.desired.contains({kEth1, ip(a)}));
    CHECK_FALSE(d.desired.contains({kEth0, ip(a)}));
  }
  // A static address named for eth1 but inside eth0's prefix is claimed nowhere.
  CHECK(skip_reason(d, "2001:db8:0:1::5:2") == SkipReason::kOutsidePrefix);

  SECTION("without uplink_prefixes, the shared prefixes put an address on both") {
    config.uplink_prefixes.clear();
    const auto shared = decide(config, observe(kernel));
    CHECK(shared.desired.contains({kEth0, ip("2001:db8:0:2::2:9")}));
    CHECK(shared.desired.contains({kEth1, ip("2001:db8:0:2::2:9")}));
  }
  SECTION("an uplink without its own prefixes keeps the shared or detected ones") {
    config.prefixes.clear();
    config.uplink_prefixes.erase("eth0");
    const auto mixed = decide(config, observe(kernel));
    CHECK(mixed.uplinks[0].prefixes == std::vector<Prefix>{prefix("2001:db8:0:1::/64")});
    CHECK(mixed.desired.contains({kEth0, ip("2001:db8:0:1::1:2")}));
  }
}

TEST_CASE("agent: a route into a downstream interface is judged alone, and leaves with it") {
  Harness h;
  const auto full = h.agent->counters().full_reconciles;
  h.kernel.add_route(host_route("2001:db8:0:1::3:1", kVc1));
  h.pump();
  CHECK(h.kernel.has_proxy(kEth0, "2001:db8:0:1::3:1"));
  CHECK(h.source_of("2001:db8:0:1::3:1") == "route@vc1");
  CHECK(h.agent->counters().full_reconciles == full);  // a touched address, not structure
  // Configured state, like an address: nothing to probe.
  h.now += 60s;
  h.agent->tick(h.now);
  h.pump();
  CHECK(h.kernel.probes.empty());
  CHECK(h.kernel.has_proxy(kEth0, "2001:db8:0:1::3:1"));

  h.kernel.remove_route("2001:db8:0:1::3:1/128", kVc1);
  h.pump();
  CHECK_FALSE(h.kernel.has_proxy(kEth0, "2001:db8:0:1::3:1"));
  CHECK(h.agent->counters().full_reconciles == full);
}

TEST_CASE("agent: a route's veth deleted takes its entry") {
  Harness h;
  h.kernel.add_route(host_route("2001:db8:0:1::3:1", kVc1));
  h.pump();
  REQUIRE(h.kernel.has_proxy(kEth0, "2001:db8:0:1::3:1"));
  h.kernel.remove_link(kVc1);
  h.pump();
  CHECK_FALSE(h.kernel.has_proxy(kEth0, "2001:db8:0:1::3:1"));
}

TEST_CASE("agent: static addresses follow the config across reloads") {
  Config config;
  config.static_addresses = {{"eth0", {ip("2001:db8:0:1::5:5")}}};
  Harness h(config);
  CHECK(h.kernel.has_proxy(kEth0, "2001:db8:0:1::5:5"));
  CHECK(h.source_of("2001:db8:0:1::5:5") == "static@");
  Config without;
  h.agent->reload(without, h.now);
  CHECK_FALSE(h.kernel.has_proxy(kEth0, "2001:db8:0:1::5:5"));
  CHECK(h.kernel.has_proxy(kEth0, "2001:db8:0:1::1:2"));
  h.agent->reload(config, h.now);
  CHECK(h.kernel.has_proxy(kEth0, "2001:db8:0:1::5:5"));
}

TEST_CASE("agent: a static address seen as a neighbour stays claimed when the neighbour goes") {
  Config config;
  config.static_addresses = {{"eth0", {ip("2001:db8:0:1::2:3")}}};
  Harness h(config);
  CHECK(h.source_of("2001:db8:0:1::2:3") == "neighbour@br0");
  h.kernel.remove_neighbour(kBr0, "2001:db8:0:1::2:3");
  h.pump();
  h.now += 60s;  // past the liveness timeout
  h.agent->tick(h.now);
  h.pump();
  CHECK(h.kernel.has_proxy(kEth0, "2001:db8:0:1::2:3"));
  CHECK(h.source_of("2001:db8:0:1::2:3") == "static@");
}

TEST_CASE("config: static and uplink_prefixes") {
  const auto config = parse_config(R"({
    "uplinks": ["eth0", "eth1"],
    "uplink_prefixes": {"eth1": ["2001:db8:0:2::/64"]},
    "static": {"eth0": ["2001:db8:0:1::5"], "eth1": []}
  })");
  CHECK(config.uplink_prefixes.at("eth1") == std::vector<Prefix>{prefix("2001:db8:0:2::/64")});
  CHECK(config.static_addresses.at("eth0") == std::vector<Ipv6Address>{ip("2001:db8:0:1::5")});
  CHECK(config.static_addresses.at("eth1").empty());

  struct Bad {
    const char* text;
    const char* names;
  };
  const Bad bad[] = {
      {R"({"static": {"eth0": ["2001:db8::zz"]}})", "'static.eth0[0]': not an IPv6 address"},
      {R"({"static": {"eth0": "2001:db8::1"}})", "'static.eth0': expected a list"},
      {R"({"static": ["2001:db8::1"]})", "'static': expected an object"},
      {R"({"static": {"eth*": ["2001:db8::1"]}})", "'static.eth*': an uplink's name, not a glob"},
      {R"({"uplinks": ["eth0"], "static": {"eth1": ["2001:db8::1"]}})",
       "'static.eth1': not one of the configured uplinks"},
      {R"({"uplink_prefixes": {"eth0": ["2001:db8::/129"]}})", "'uplink_prefixes.eth0[0]'"},
      {R"({"uplink_prefixes": {"eth0": []}})", "'uplink_prefixes.eth0': lists no prefix"},
      {R"({"uplinks": ["eth0"], "uplink_prefixes": {"eth1": ["2001:db8::/64"]}})",
       "'uplink_prefixes.eth1': not one of the configured uplinks"},
      {R"({"uplink_prefixes": {"eth0": ["2001:db8::/64"]}, "deny": ["2001:db8::/48"]})", "'deny'"},
      {R"({"uplink_prefixes": {"eth0": ["2001:db8:0:1::/64"]},
           "interface_prefixes": {"vc1": ["2001:db8:0:2::/112"]}})",
       "'interface_prefixes.vc1'"},
  };
  for (const auto& b : bad) {
    INFO(b.text);
    CHECK_THROWS_WITH(parse_config(b.text), HasSubstring(b.names));
  }
}
