// The decision engine's promise: an update over the touched addresses gives exactly what a full
// pass gives, and an update that cannot promise that changes nothing.
#include <catch2/catch.hpp>

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
         a.per_interface == b.per_interface && a.capped == b.capped;
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

TEST_CASE("decision engine: caps admit in source, interface, address order across uplinks") {
  FakeKernel k;
  k.add_link({.index = 2, .name = "eth0", .up = true, .carrier = true});
  k.add_link({.index = 7, .name = "eth1", .up = true, .carrier = true});
  k.add_link({.index = 3, .name = "vc1", .kind = "veth", .up = true, .carrier = true});
  k.add_address(2, "2001:db8:0:2::ff", 64);
  k.add_address(7, "2001:db8:0:1::ff", 64);
  k.set_neighbour(3, "2001:db8:0:1::5", kNudReachable);  // eth1's prefix, lower address
  k.set_neighbour(3, "2001:db8:0:2::5", kNudReachable);  // eth0's prefix, higher address
  Config config;
  config.uplinks = {"eth0", "eth1"};
  config.max_entries = 1;
  ObservedState o;
  o.replace(k.dump().value);
  const auto d = decide(config, o);
  // Newcomers queue by source, interface and address, then uplink: ::1:5 (on eth1) first.
  CHECK(d.desired.contains({7, ip("2001:db8:0:1::5")}));
}
