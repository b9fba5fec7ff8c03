#include "catch2_compat.hpp"

#include "lab.hpp"
#include "ndpsync/policy.hpp"

using namespace ndpsync;
using namespace ndpsync::testing;

namespace {

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

bool desired(const Decision& d, std::string_view address) {
  return d.desired.contains({kEth0, ip(address)});
}

}  // namespace

TEST_CASE("zero-config detection on the standard lab") {
  FakeKernel kernel;
  build_lab(kernel);
  const auto d = decide(Config{}, observe(kernel));
  REQUIRE(d.uplinks.size() == 1);
  CHECK(d.uplinks[0].name == "eth0");
  REQUIRE(d.uplinks[0].prefixes.size() == 1);
  CHECK(d.uplinks[0].prefixes[0].to_string() == "2001:db8:0:1::/64");
  // lo, vc1 and br0; not eth0, and not the bridge ports.
  CHECK(d.downstream == std::vector<IfIndex>{kLo, kVc1, kBr0});
  CHECK(d.desired.size() == 5);
  for (const char* a : {"2001:db8:0:1::1:1", "2001:db8:0:1::1:2", "2001:db8:0:1::2:1",
                        "2001:db8:0:1::2:2", "2001:db8:0:1::2:3"}) {
    INFO(a);
    CHECK(desired(d, a));
  }
  CHECK(d.desired.at({kEth0, ip("2001:db8:0:1::1:2")}).source == Source::kNeighbour);
  CHECK(d.desired.at({kEth0, ip("2001:db8:0:1::1:1")}).source == Source::kAddress);
}

TEST_CASE("eligibility of a neighbour learned on a downstream interface") {
  struct Case {
    const char* description;
    const char* address;
    IfIndex ifindex;
    NudState state;
    std::optional<SkipReason> reason;  // nullopt: claimed
    bool ignored = false;              // not a candidate at all
  };
  const Case cases[] = {
      {.description = "container in a present state",
       .address = "2001:db8:0:1::2:9",
       .ifindex = kBr0,
       .state = kNudDelay,
       .reason = std::nullopt},
      {.description = "permanent",
       .address = "2001:db8:0:1::2:a",
       .ifindex = kBr0,
       .state = kNudPermanent,
       .reason = std::nullopt},
      {.description = "probe",
       .address = "2001:db8:0:1::2:b",
       .ifindex = kBr0,
       .state = kNudProbe,
       .reason = std::nullopt},
      {.description = "failed is not present",
       .address = "2001:db8:0:1::2:c",
       .ifindex = kBr0,
       .state = kNudFailed,
       .reason = std::nullopt,
       .ignored = true},
      {.description = "incomplete is not present",
       .address = "2001:db8:0:1::2:d",
       .ifindex = kBr0,
       .state = kNudIncomplete,
       .reason = std::nullopt,
       .ignored = true},
      {.description = "link-local",
       .address = "fe80::77",
       .ifindex = kBr0,
       .state = kNudReachable,
       .reason = SkipReason::kLinkLocal},
      {.description = "multicast groups' NOARP entries are not claims",
       .address = "ff02::1",
       .ifindex = kBr0,
       .state = kNudNoArp,
       .reason = std::nullopt,
       .ignored = true},
      {.description = "unspecified",
       .address = "::",
       .ifindex = kBr0,
       .state = kNudReachable,
       .reason = SkipReason::kUnspecified},
      {.description = "outside the prefix",
       .address = "2001:db8:0:2::5",
       .ifindex = kBr0,
       .state = kNudReachable,
       .reason = SkipReason::kOutsidePrefix},
      {.description = "the uplink's own address",
       .address = "2001:db8:0:1:0:ff:fe00:2",
       .ifindex = kBr0,
       .state = kNudReachable,
       .reason = SkipReason::kUplinkAddress},
      {.description = "the default router",
       .address = "fe80::1",
       .ifindex = kBr0,
       .state = kNudReachable,
       .reason = SkipReason::kLinkLocal},
      {.description = "not on a downstream interface",
       .address = "2001:db8:0:1::99",
       .ifindex = kVb2,
       .state = kNudReachable,
       .reason = std::nullopt,
       .ignored = true},
  };
  for (const auto& c : cases) {
    INFO(c.description);
    FakeKernel kernel;
    build_lab(kernel);
    kernel.set_neighbour(c.ifindex, c.address, c.state);
    const auto d = decide(Config{}, observe(kernel));
    CHECK(skip_reason(d, c.address) == c.reason);
    CHECK(desired(d, c.address) == (!c.reason && !c.ignored));
  }
}

TEST_CASE("the uplink's routers and neighbours are never claimed") {
  FakeKernel kernel;
  build_lab(kernel);
  // The router's global address, known on the uplink with NTF_ROUTER at the router's MAC: the
  // MAC of its gateway address's entry.
  kernel.set_neighbour(kEth0, "2001:db8:0:1::1", kNudReachable, /*router=*/true,
                       "02:00:00:00:00:fe");
  kernel.set_neighbour(kEth0, "2001:db8:0:1::fe", kNudReachable, /*router=*/true,
                       "02:00:00:00:00:fe");
  // Another customer's address, known on the uplink.
  kernel.set_neighbour(kEth0, "2001:db8:0:1::77", kNudStale, false, "02:00:00:00:00:77");
  // A default route through a global gateway.
  kernel.add_route("::/0", kEth0, "2001:db8:0:1::fe");
  // A container makes the host learn all three on the bridge, from a packet (STALE): nothing
  // downstream has verified them.
  for (const char* a : {"2001:db8:0:1::1", "2001:db8:0:1::77", "2001:db8:0:1::fe"}) {
    kernel.set_neighbour(kBr0, a, kNudStale);
  }
  const auto d = decide(Config{}, observe(kernel));
  CHECK(skip_reason(d, "2001:db8:0:1::1") == SkipReason::kUplinkRouter);
  CHECK(skip_reason(d, "2001:db8:0:1::77") == SkipReason::kUplinkNeighbour);
  CHECK(skip_reason(d, "2001:db8:0:1::fe") == SkipReason::kUplinkRouter);
  CHECK_FALSE(desired(d, "2001:db8:0:1::1"));
  CHECK_FALSE(desired(d, "2001:db8:0:1::77"));
  // Verified (REACHABLE: it answered), a holder wins what the uplink's neighbour table claims,
  // which anyone on the provider's link can write; never a gateway of the uplinks.
  for (const char* a : {"2001:db8:0:1::1", "2001:db8:0:1::77", "2001:db8:0:1::fe"}) {
    kernel.set_neighbour(kBr0, a, kNudReachable);
  }
  const auto v = decide(Config{}, observe(kernel));
  CHECK(skip_reason(v, "2001:db8:0:1::1") == SkipReason::kUplinkRouter);
  CHECK(desired(v, "2001:db8:0:1::77"));
  CHECK(skip_reason(v, "2001:db8:0:1::fe") == SkipReason::kUplinkRouter);
  // At the router's MAC without the flag yet (what the router's own NS leaves): the router's.
  kernel.set_neighbour(kEth0, "2001:db8:0:1::1", kNudStale, false, "02:00:00:00:00:fe");
  CHECK(skip_reason(decide(Config{}, observe(kernel)), "2001:db8:0:1::1") ==
        SkipReason::kUplinkRouter);
  // A router flag at any other MAC is what a forged NA makes: a claim like another node's.
  kernel.set_neighbour(kEth0, "2001:db8:0:1::1", kNudReachable, /*router=*/true,
                       "02:00:00:00:00:66");
  CHECK(desired(decide(Config{}, observe(kernel)), "2001:db8:0:1::1"));
  // With uplink_probe_ms the admin asked first claims to yield to any node that answers.
  Config strict;
  strict.uplink_probe = std::chrono::milliseconds(1000);
  const auto s = decide(strict, observe(kernel));
  CHECK(skip_reason(s, "2001:db8:0:1::77") == SkipReason::kUplinkNeighbour);
  // An address we already proxy keeps its entry: liveness, not the uplink, decides.
  (void)kernel.add_proxy({kEth0, ip("2001:db8:0:1::77"), Config{}.owner_protocol});
  kernel.set_neighbour(kBr0, "2001:db8:0:1::77", kNudStale);
  CHECK(desired(decide(strict, observe(kernel)), "2001:db8:0:1::77"));
}

TEST_CASE("deny-list, interface bindings and dad-failed addresses") {
  FakeKernel kernel;
  build_lab(kernel);
  kernel.add_address(kVc1, "2001:db8:0:1::1:99", 112, kAddrDadFailed);
  kernel.set_neighbour(kVc1, "2001:db8:0:1::2:50", kNudReachable);  // vc1 claims br0's range
  kernel.set_neighbour(kBr0, "2001:db8:0:1::dead", kNudReachable);
  Config config;
  config.deny = {prefix("2001:db8:0:1::dead/128")};
  config.interface_prefixes["vc*"] = {prefix("2001:db8:0:1::1:0/112")};
  const auto d = decide(config, observe(kernel));
  CHECK(skip_reason(d, "2001:db8:0:1::1:99") == SkipReason::kDadFailed);
  CHECK(skip_reason(d, "2001:db8:0:1::2:50") == SkipReason::kNotAllowed);
  CHECK(skip_reason(d, "2001:db8:0:1::dead") == SkipReason::kDenied);
  CHECK(desired(d, "2001:db8:0:1::1:2"));
}

TEST_CASE("caps keep installed entries and refuse newcomers") {
  FakeKernel kernel;
  build_lab(kernel);
  for (int i = 0; i < 10; ++i) {
    kernel.set_neighbour(kBr0, "2001:db8:0:1::3:" + std::to_string(i + 1), kNudReachable);
  }
  kernel.put_proxy(kEth0, "2001:db8:0:1::3:9", kOwner);  // installed earlier
  Config config;
  config.max_entries_per_interface = 3;
  const auto d = decide(config, observe(kernel));
  std::size_t on_bridge = 0;
  for (const auto& [key, want] : d.desired) {
    if (want.source_ifindex == kBr0) ++on_bridge;
  }
  CHECK(on_bridge == 3);
  CHECK(desired(d, "2001:db8:0:1::3:9"));  // not evicted
  CHECK(skip_reason(d, "2001:db8:0:1::3:8") == SkipReason::kCap);

  config.max_entries_per_interface = 1000;
  config.max_entries = 4;
  const auto total = decide(config, observe(kernel));
  CHECK(total.desired.size() == 4);
  CHECK(desired(total, "2001:db8:0:1::3:9"));
}

TEST_CASE("explicit selection overrides detection") {
  FakeKernel kernel;
  build_lab(kernel);
  Config config;
  config.uplinks = {"eth0", "eth9"};
  config.downstream = {"vc*"};
  config.prefixes = {prefix("2001:db8:0:1::1:0/112")};
  const auto d = decide(config, observe(kernel));
  CHECK(d.missing_uplinks == std::vector<std::string>{"eth9"});
  CHECK(d.downstream == std::vector<IfIndex>{kVc1});
  CHECK(d.desired.size() == 2);
  CHECK(desired(d, "2001:db8:0:1::1:2"));
}

TEST_CASE("links enslaved with the uplink are not downstream") {
  FakeKernel kernel;
  build_lab(kernel);
  // The uplink is a bridge with the physical NIC and a container bridged straight onto it.
  kernel.add_link({.index = 10, .name = "brwan", .kind = "bridge", .up = true});
  kernel.add_link({.index = 11, .name = "vwan", .kind = "veth", .master = 10, .up = true});
  kernel.remove_route("::/0", kEth0);
  kernel.add_route("::/0", 10, "fe80::1");
  kernel.add_address(10, "2001:db8:0:1::9", 64);
  const auto d = decide(Config{}, observe(kernel));
  REQUIRE(d.uplinks.size() == 1);
  CHECK(d.uplinks[0].name == "brwan");
  CHECK(std::find(d.downstream.begin(), d.downstream.end(), 11) == d.downstream.end());
  CHECK(std::find(d.downstream.begin(), d.downstream.end(), 10) == d.downstream.end());
}

TEST_CASE("an address on /128 takes its prefix from the on-link route") {
  FakeKernel kernel;
  build_lab(kernel);
  kernel.remove_address(kEth0, "2001:db8:0:1:0:ff:fe00:2");
  kernel.add_address(kEth0, "2001:db8:0:1::abcd", 128);
  const auto d = decide(Config{}, observe(kernel));
  REQUIRE(d.uplinks.size() == 1);
  REQUIRE(d.uplinks[0].prefixes.size() == 1);
  CHECK(d.uplinks[0].prefixes[0].to_string() == "2001:db8:0:1::/64");
}

TEST_CASE("liveness verdicts hold and withdraw neighbours") {
  FakeKernel kernel;
  build_lab(kernel);
  kernel.remove_neighbour(kBr0, "2001:db8:0:1::2:2");
  LivenessView liveness;
  liveness.held.insert({kBr0, ip("2001:db8:0:1::2:2")});
  liveness.withdrawn.insert({kBr0, ip("2001:db8:0:1::2:3")});
  const auto d = decide(Config{}, observe(kernel), liveness);
  CHECK(desired(d, "2001:db8:0:1::2:2"));
  CHECK_FALSE(desired(d, "2001:db8:0:1::2:3"));
}
