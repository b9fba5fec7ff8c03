// The decision engine's promise: an update over the touched addresses gives exactly what a full
// pass gives, and an update that cannot promise that changes nothing.
#include <algorithm>
#include <cstdio>
#include <string>

#include "catch2_compat.hpp"

#include "lab.hpp"
#include "ndpsync/decision_engine.hpp"

using namespace ndpsync;
using namespace ndpsync::testing;

namespace {

ObservedState observe(FakeKernel& kernel) {
  ObservedState observed;
  observed.replace(kernel.dump().value);
  return observed;
}

bool same(const Decision& a, const Decision& b) {
  const auto same_desired = std::equal(
      a.desired.begin(), a.desired.end(), b.desired.begin(), b.desired.end(),
      [](const auto& x, const auto& y) { return x.first == y.first && x.second == y.second; });
  return same_desired && a.skipped == b.skipped && a.admitted == b.admitted &&
         a.per_interface == b.per_interface && a.capped == b.capped && a.per_mac == b.per_mac &&
         a.capped_macs == b.capped_macs;
}

// A seeded generator, so that a failure names its step and replays.
class Walk {
 public:
  explicit Walk(std::uint32_t seed) : seed_(seed) {}
  std::uint32_t next(std::uint32_t n) {
    seed_ = seed_ * 1103515245U + 12345U;
    return (seed_ >> 8) % n;
  }

 private:
  std::uint32_t seed_;
};

}  // namespace

TEST_CASE("decision engine: an update over the touched addresses equals a full pass") {
  constexpr int kSteps = 10000;
  FakeKernel kernel;
  build_lab(kernel);
  ObservedState observed = observe(kernel);
  Config config;
  config.max_entries = 1000;
  LivenessView liveness;
  DecisionEngine engine;
  engine.full(config, observed, liveness, {});

  Walk walk(20261130);
  const NudState states[] = {kNudReachable,  kNudStale,     kNudDelay, kNudFailed,
                             kNudIncomplete, kNudPermanent, kNudNoArp};
  const IfIndex interfaces[] = {kVc1, kBr0, kLo};
  const char* addresses[] = {
      "2001:db8:0:1::4:1", "2001:db8:0:1::4:2", "2001:db8:0:1::4:3", "fe80::4:4",
      "2001:db8:9::5",     "2001:db8:0:1::4:6", "ff02::1:ff00:7",    "2001:db8:0:1:0:ff:fe00:2",
      "2001:db8:0:1::1:2", "2001:db8:0:1::2:2"};
  std::size_t updates = 0;
  for (int step = 0; step < kSteps; ++step) {
    std::set<Ipv6Address> touched;
    for (std::uint32_t i = 0, n = 1 + walk.next(3); i < n; ++i) {
      const auto ifindex = interfaces[walk.next(3)];
      const auto address = ip(addresses[walk.next(10)]);
      const auto state = states[walk.next(7)];
      touched.insert(address);
      switch (walk.next(8)) {
        case 0: observed.apply(AddressEvent{Change::kNew, {ifindex, address, 112}}); break;
        case 1: observed.apply(AddressEvent{Change::kDel, {ifindex, address, 112}}); break;
        case 2: observed.apply(NeighbourEvent{Change::kDel, {ifindex, address}}); break;
        case 3:  // on the uplink: another node's, the host's own MAC, a router's
          observed.apply(
              NeighbourEvent{Change::kNew,
                             {kEth0, address, state, walk.next(4) == 0,
                              mac(walk.next(2) == 0 ? "02:00:00:00:00:02" : "02:00:00:00:00:77")}});
          break;
        case 4: observed.apply(NeighbourEvent{Change::kDel, {kEth0, address}}); break;
        case 5:  // a liveness verdict
          if (walk.next(2) == 0) {
            liveness.held.insert({ifindex, address});
            liveness.withdrawn.erase({ifindex, address});
          } else {
            liveness.withdrawn.insert({ifindex, address});
            liveness.held.erase({ifindex, address});
          }
          break;
        default: observed.apply(NeighbourEvent{Change::kNew, {ifindex, address, state}}); break;
      }
    }
    if (engine.update(config, observed, liveness, touched)) {
      ++updates;
    } else {
      engine.full(config, observed, liveness, {});
    }
    DecisionEngine fresh;
    fresh.full(config, observed, liveness, {});
    INFO("step " << step);
    REQUIRE(same(engine.decision(), fresh.decision()));
  }
  CHECK(updates > kSteps * 9 / 10);  // caps stay out of the way: nearly all were updates
}

TEST_CASE("decision engine: an update that meets a cap changes nothing") {
  FakeKernel kernel;
  build_lab(kernel);
  ObservedState observed = observe(kernel);
  Config config;
  config.max_entries_per_interface = 3;  // br0 holds ::2:1, ::2:2 and ::2:3 already
  DecisionEngine engine;
  engine.full(config, observed, {}, {});
  const auto before = engine.decision();
  REQUIRE_FALSE(before.capped);

  // ::2:2 leaves and two newcomers arrive: judged alone, the first fits and the second does not.
  observed.apply(NeighbourEvent{Change::kDel, {kBr0, ip("2001:db8:0:1::2:2")}});
  observed.apply(NeighbourEvent{Change::kNew, {kBr0, ip("2001:db8:0:1::2:8"), kNudReachable}});
  observed.apply(NeighbourEvent{Change::kNew, {kBr0, ip("2001:db8:0:1::2:9"), kNudReachable}});
  const std::set<Ipv6Address> touched{ip("2001:db8:0:1::2:2"), ip("2001:db8:0:1::2:8"),
                                      ip("2001:db8:0:1::2:9")};
  CHECK_FALSE(engine.update(config, observed, {}, touched));
  CHECK(same(engine.decision(), before));  // not half-applied
  CHECK(engine.decision().desired.contains({kEth0, ip("2001:db8:0:1::2:2")}));

  engine.full(config, observed, {}, {});
  CHECK(engine.decision().capped);
  CHECK(engine.decision().desired.contains({kEth0, ip("2001:db8:0:1::2:8")}));
  CHECK_FALSE(engine.decision().desired.contains({kEth0, ip("2001:db8:0:1::2:9")}));
}

TEST_CASE("decision engine: update is idempotent") {
  FakeKernel kernel;
  build_lab(kernel);
  const ObservedState observed = observe(kernel);
  DecisionEngine engine;
  engine.full(Config{}, observed, {}, {});
  const auto before = engine.decision();
  const std::set<Ipv6Address> everything{ip("2001:db8:0:1::1:2"), ip("2001:db8:0:1::2:2"),
                                         ip("2001:db8:0:1::2:3"), ip("2001:db8:0:1::9")};
  REQUIRE(engine.update(Config{}, observed, {}, everything));
  REQUIRE(engine.update(Config{}, observed, {}, everything));
  CHECK(same(engine.decision(), before));
}

namespace {

// Two uplinks and three downstream veths; max_entries = 1, so that one newcomer wins.
struct CapRace {
  const char* description;
  std::vector<std::pair<IfIndex, const char*>> addresses;   // configured downstream (/128)
  std::vector<std::pair<IfIndex, const char*>> neighbours;  // REACHABLE downstream
  std::vector<std::pair<IfIndex, const char*>> held;        // liveness holds; the kernel forgot
  IfAddressKey winner;                                      // (uplink, address)
};

}  // namespace

TEST_CASE("decision engine: caps admit in source, interface, address order across uplinks") {
  // eth0 (2) serves 2001:db8:0:2::/64, eth1 (7) 2001:db8:0:1::/64; vc1..vc3 are 3, 4, 5.
  const std::vector<CapRace> races = {
      {.description = "a configured address before a neighbour on a lower interface and address",
       .addresses = {{5, "2001:db8:0:1::9"}},
       .neighbours = {{3, "2001:db8:0:1::5"}},
       .winner = {7, ip("2001:db8:0:1::9")}},
      {.description = "a live neighbour before a held one on a lower interface and address",
       .neighbours = {{5, "2001:db8:0:1::9"}},
       .held = {{3, "2001:db8:0:1::5"}},
       .winner = {7, ip("2001:db8:0:1::9")}},
      {.description = "within a source, the lower interface before the lower address",
       .neighbours = {{4, "2001:db8:0:1::5"}, {3, "2001:db8:0:1::9"}},
       .winner = {7, ip("2001:db8:0:1::9")}},
      {.description = "on one interface, the lower address, whichever uplink serves it",
       .neighbours = {{3, "2001:db8:0:1::5"}, {3, "2001:db8:0:2::5"}},
       .winner = {7, ip("2001:db8:0:1::5")}},
  };
  for (const auto& race : races) {
    INFO(race.description);
    FakeKernel k;
    k.add_link({.index = 2, .name = "eth0", .up = true, .carrier = true});
    k.add_link({.index = 7, .name = "eth1", .up = true, .carrier = true});
    for (const IfIndex index : {3, 4, 5}) {
      k.add_link({.index = index,
                  .name = "vc" + std::to_string(index - 2),
                  .kind = "veth",
                  .up = true,
                  .carrier = true});
    }
    k.add_address(2, "2001:db8:0:2::ff", 64);
    k.add_address(7, "2001:db8:0:1::ff", 64);
    for (const auto& [index, address] : race.addresses) k.add_address(index, address, 128);
    for (const auto& [index, address] : race.neighbours) {
      k.set_neighbour(index, address, kNudReachable);
    }
    LivenessView liveness;
    for (const auto& [index, address] : race.held) liveness.held.insert({index, ip(address)});
    Config config;
    config.uplinks = {"eth0", "eth1"};
    config.max_entries = 1;
    DecisionEngine engine;
    engine.full(config, observe(k), liveness, {});
    const auto& d = engine.decision();
    REQUIRE(d.capped);  // every race has a loser
    CHECK(d.desired.size() == 1);
    CHECK(d.desired.contains(race.winner));
  }
}

namespace {

constexpr const char* kTenantMac = "02:00:5e:00:53:02";  // c2, the one that floods
constexpr const char* kOtherMac = "02:00:5e:00:53:03";   // c3

std::string flood_address(int i) {
  char text[48];
  std::snprintf(text, sizeof text, "2001:db8:0:1::2:%x", 0x1000 + i);
  return text;
}

std::size_t count_reason(const Decision& d, SkipReason reason, IfIndex on = kBr0) {
  return static_cast<std::size_t>(
      std::count_if(d.skipped.begin(), d.skipped.end(),
                    [&](const Skipped& s) { return s.reason == reason && s.ifindex == on; }));
}

}  // namespace

TEST_CASE("decision engine: one MAC's flood on a bridge leaves another container room") {
  FakeKernel kernel;
  build_lab(kernel);
  kernel.set_neighbour(kBr0, "2001:db8:0:1::2:2", kNudReachable, false, kTenantMac);
  kernel.set_neighbour(kBr0, "2001:db8:0:1::2:3", kNudReachable, false, kOtherMac);
  // c2 makes the host learn 1,000 neighbours on br0, all at its own MAC.
  for (int i = 0; i < 1000; ++i) {
    kernel.set_neighbour(kBr0, flood_address(i), kNudStale, false, kTenantMac);
  }
  ObservedState observed = observe(kernel);
  Config config;
  config.max_entries_per_interface = 100;  // what the flood alone would fill
  REQUIRE(config.max_entries_per_mac == 64);
  DecisionEngine engine;
  engine.full(config, observed, {}, {});
  const MacKey tenant{kBr0, mac(kTenantMac)};
  CHECK_FALSE(engine.decision().capped);              // the interface's cap was never reached
  CHECK(engine.decision().per_mac.at(tenant) == 64);  // ::2:2 and the first 63 of the flood
  CHECK(engine.decision().capped_macs.at(tenant) == 1001 - 64);
  CHECK(count_reason(engine.decision(), SkipReason::kCapMac) == 1001 - 64);
  CHECK(count_reason(engine.decision(), SkipReason::kCap) == 0);
  CHECK(engine.decision().per_interface.at(kBr0) == 1 + 64 + 1);  // ::2:1, c2's 64, ::2:3
  CHECK(engine.decision().desired.contains({kEth0, ip("2001:db8:0:1::2:2")}));

  // c3's new address: incremental, and what a full pass gives.
  observed.apply(NeighbourEvent{
      Change::kNew, {kBr0, ip("2001:db8:0:1::2:9"), kNudReachable, false, mac(kOtherMac)}});
  REQUIRE(engine.update(config, observed, {}, {ip("2001:db8:0:1::2:9")}));
  CHECK(engine.decision().desired.contains({kEth0, ip("2001:db8:0:1::2:9")}));
  DecisionEngine fresh;
  fresh.full(config, observed, {}, {});
  CHECK(same(engine.decision(), fresh.decision()));

  // Another address of the flooding MAC asks for a full pass, which refuses it as cap-mac.
  const auto before = engine.decision();
  const auto more = ip(flood_address(1000));
  observed.apply(NeighbourEvent{Change::kNew, {kBr0, more, kNudStale, false, mac(kTenantMac)}});
  CHECK_FALSE(engine.update(config, observed, {}, {more}));
  CHECK(same(engine.decision(), before));  // not half-applied
  engine.full(config, observed, {}, {});
  CHECK(engine.decision().skipped.contains({more, kBr0, SkipReason::kCapMac}));
  CHECK(engine.decision().capped_macs.at(tenant) == 1002 - 64);
}

TEST_CASE("decision engine: the per-MAC cap is capped by the per-interface cap, off on a veth") {
  FakeKernel kernel;
  build_lab(kernel);
  for (int i = 0; i < 10; ++i) {
    kernel.set_neighbour(kBr0, flood_address(i), kNudReachable, false, kTenantMac);
    kernel.set_neighbour(kVc1, "2001:db8:0:1::1:" + std::to_string(100 + i), kNudReachable, false,
                         kTenantMac);
  }
  const auto observed = observe(kernel);
  Config config;
  config.max_entries_per_mac = 4;
  auto d = decide(config, observed);
  // vc1 is a veth: its one peer may hold a routed /112; the interface's own cap bounds it.
  CHECK(std::count_if(d.desired.begin(), d.desired.end(),
                      [](const auto& item) { return item.second.source_ifindex == kVc1; }) == 12);
  CHECK(count_reason(d, SkipReason::kCapMac) == 6);
  CHECK(d.per_mac.at({kBr0, mac(kTenantMac)}) == 4);

  config.max_entries_per_mac = 1000;
  config.max_entries_per_interface = 5;  // ::2:1, ::2:2, ::2:3 and two of the ten
  d = decide(config, observed);
  CHECK(d.per_mac.at({kBr0, mac(kTenantMac)}) == 2);
  CHECK(count_reason(d, SkipReason::kCap) == 8);
  CHECK(count_reason(d, SkipReason::kCapMac) == 0);
}

TEST_CASE("decision engine: with per-MAC caps, an update still equals a full pass") {
  constexpr int kSteps = 5000;
  FakeKernel kernel;
  build_lab(kernel);
  ObservedState observed = observe(kernel);
  Config config;
  config.max_entries_per_mac = 2;  // two MACs, 18 addresses: often over, never the interface
  LivenessView liveness;
  DecisionEngine engine;
  engine.full(config, observed, liveness, {});

  Walk walk(20261207);
  const NudState states[] = {kNudReachable, kNudStale, kNudDelay, kNudFailed, kNudPermanent};
  const IfIndex interfaces[] = {kBr0, kBr0, kVc1};
  const char* macs[] = {kTenantMac, kTenantMac, kOtherMac};  // c2 claims the most
  std::size_t updates = 0;
  std::size_t mac_capped = 0;
  for (int step = 0; step < kSteps; ++step) {
    std::set<Ipv6Address> touched;
    for (std::uint32_t i = 0, n = 1 + walk.next(3); i < n; ++i) {
      const auto ifindex = interfaces[walk.next(3)];
      const auto address =
          ip(walk.next(2) == 0 ? flood_address(static_cast<int>(walk.next(12)))
                               : "2001:db8:0:1::1:" + std::to_string(100 + walk.next(6)));
      touched.insert(address);
      switch (walk.next(10)) {  // mostly neighbours: configured addresses would win over them
        case 0: observed.apply(NeighbourEvent{Change::kDel, {ifindex, address}}); break;
        case 1:  // a liveness verdict
          if (walk.next(2) == 0) {
            liveness.held.insert({ifindex, address});
            liveness.withdrawn.erase({ifindex, address});
          } else {
            liveness.withdrawn.insert({ifindex, address});
            liveness.held.erase({ifindex, address});
          }
          break;
        case 2:
          observed.apply(AddressEvent{walk.next(3) == 0 ? Change::kNew : Change::kDel,
                                      {ifindex, address, 112}});
          break;
        default:  // a neighbour, at one of two MACs
          observed.apply(NeighbourEvent{
              Change::kNew,
              {ifindex, address, states[walk.next(5)], false, mac(macs[walk.next(3)])}});
          break;
      }
    }
    if (engine.update(config, observed, liveness, touched)) {
      ++updates;
    } else {
      engine.full(config, observed, liveness, {});
    }
    DecisionEngine fresh;
    fresh.full(config, observed, liveness, {});
    INFO("step " << step);
    REQUIRE(same(engine.decision(), fresh.decision()));
    if (!fresh.decision().capped_macs.empty()) ++mac_capped;
  }
  // The walk meets the per-MAC cap often, and still updates most of the time.
  CHECK(mac_capped > kSteps / 10);
  CHECK(updates > kSteps / 4);
}
