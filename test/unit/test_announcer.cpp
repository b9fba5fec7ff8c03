// The Announcer alone, on the fake kernel's lab with a clock the test moves by hand: the adverts'
// rate, the override check of news, the answers to solicitors, the all-multicast references.
// test_discovery.cpp drives the same room through the agent.
#include "catch2_compat.hpp"

#include "lab.hpp"
#include "ndpsync/announcer.hpp"

using namespace ndpsync;
using namespace ndpsync::testing;
using namespace std::chrono_literals;

namespace {

struct Room {
  FakeKernel kernel;
  FakeAdverts adverts;
  Config config;
  ObservedState observed;
  DecisionEngine engine;
  Announcer announcer{kernel};
  SteadyTime now{};

  explicit Room(Config with = {}) : config(std::move(with)) {
    build_lab(kernel);
    observed.replace(kernel.dump().value);
    engine.full(config, observed, LivenessView{}, Memory{});
    announcer.set_port(&adverts);
    announcer.configure(config);
  }
  void added(std::string_view address, Claim claim) {
    announcer.entry_added({.ifindex = kEth0, .address = ip(address)}, claim, observed, now);
  }
};

std::string container(int n) { return "2001:db8:0:1::3:" + std::to_string(n); }

}  // namespace

TEST_CASE("announcer: news is announced at most kPerSecond a second; the known never") {
  Config config;
  config.uplink_probe = 100ms;  // the claims waited for the uplink: adverts go out at once
  Room r(config);
  r.added(container(1), Claim::kKnown);
  CHECK(r.adverts.sent.empty());
  for (int n = 0; n < 150; ++n) r.added(container(n), Claim::kNews);
  CHECK(r.adverts.sent.size() == Announcer::kPerSecond);
  r.now += 999ms;
  r.added(container(200), Claim::kNews);
  CHECK(r.adverts.sent.size() == Announcer::kPerSecond);
  r.now += 1ms;
  r.added(container(201), Claim::kNews);
  REQUIRE(r.adverts.sent.size() == Announcer::kPerSecond + 1);
  const auto& last = r.adverts.sent.back();
  CHECK(last.target == ip(container(201)));
  CHECK(last.override);
  CHECK(last.source == ip("fe80::ff:fe00:2"));  // the uplink's link-local address
  CHECK(r.announcer.counters().adverts_unsolicited == Announcer::kPerSecond + 1);

  Config off = config;
  off.unsolicited_na = false;
  Room quiet(off);
  quiet.added(container(1), Claim::kNews);
  CHECK(quiet.adverts.sent.empty());
}

TEST_CASE("announcer: news waits until the uplink was asked and nobody answered") {
  Room r;
  const auto key = IfAddressKey{kEth0, ip("2001:db8:0:1::2:3")};  // desired: the lab's container
  REQUIRE(r.engine.decision().desired.contains(key));
  r.added("2001:db8:0:1::2:3", Claim::kNews);
  CHECK(r.adverts.sent.empty());
  CHECK(r.announcer.next_wakeup() == r.now);
  r.announcer.announce(r.now, r.observed, r.engine.decision());
  CHECK(r.announcer.counters().asks == 1);
  CHECK(r.kernel.probes == std::vector{std::pair(kEth0, key.second)});
  CHECK(r.adverts.sent.empty());
  r.now += 999ms;
  r.announcer.announce(r.now, r.observed, r.engine.decision());
  CHECK(r.adverts.sent.empty());  // the answer may still come
  r.now += 1ms;
  r.announcer.announce(r.now, r.observed, r.engine.decision());
  REQUIRE(r.adverts.sent.size() == 1);
  CHECK(r.adverts.sent[0].destination == ip("ff02::1"));
  CHECK_FALSE(r.announcer.next_wakeup());  // nothing left to do
}

TEST_CASE("announcer: the solicitors of a found target are answered, and nothing announced") {
  Room r;
  const Solicitation ns{.ifindex = kEth0,
                        .source = ip("fe80::1"),
                        .target = ip("2001:db8:0:1::2:77"),
                        .source_mac = mac("02:00:00:00:00:01")};
  r.kernel.add_route("2001:db8:0:1::2:0/112", kBr0, std::nullopt);
  r.observed.replace(r.kernel.dump().value);
  r.announcer.on_solicitations({ns}, r.engine, r.observed, r.config, r.now);
  REQUIRE(r.announcer.discovery().pending(ns.target));
  CHECK(r.kernel.probes == std::vector{std::pair(kBr0, ns.target)});  // probed downstream
  r.added("2001:db8:0:1::2:77", Claim::kNews);
  REQUIRE(r.adverts.sent.size() == 1);
  CHECK(r.adverts.sent[0].destination == ns.source);
  CHECK(r.adverts.sent[0].solicited);
  CHECK_FALSE(r.adverts.sent[0].override);
  CHECK_FALSE(r.announcer.next_wakeup());  // no override check: the router has its answer
}

TEST_CASE("announcer: an all-multicast reference per uplink, while on_demand is on") {
  Room r;
  r.announcer.keep_allmulti(r.engine.decision());
  r.announcer.keep_allmulti(r.engine.decision());
  CHECK(r.adverts.allmulti == std::map<IfIndex, int>{{kEth0, 1}});  // taken once
  Config off = r.config;
  off.on_demand = false;
  r.announcer.configure(off);
  CHECK(r.adverts.allmulti[kEth0] == 0);
  r.announcer.keep_allmulti(r.engine.decision());
  CHECK(r.adverts.allmulti[kEth0] == 0);
}
