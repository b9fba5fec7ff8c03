// On-demand discovery: Discovery's limits alone, then the agent on the fake kernel answering
// solicitations on the uplink (probes, guards, the scan, adverts, ALLMULTI).
#include <array>
#include <cstdio>
#include "catch2_compat.hpp"

#include "agent_harness.hpp"
#include "ndpsync/discovery.hpp"

using namespace ndpsync;
using namespace ndpsync::testing;
using namespace std::chrono_literals;

namespace {

std::string hex(int value) {
  std::array<char, 16> text{};
  std::snprintf(text.data(), text.size(), "%x", value);
  return text.data();
}

Solicitation ns(std::string_view target, IfIndex on = kEth0, std::string_view from = "fe80::1") {
  return {.ifindex = on,
          .source = ip(from),
          .target = ip(target),
          .source_mac = mac("02:00:00:00:00:01")};
}

}  // namespace

TEST_CASE("discovery: a target is probed once; repeats join it; silence is negative-cached") {
  Discovery d({.rate = 10});
  const SteadyTime t0{};
  REQUIRE_FALSE(d.screen(ns("2001:db8::5"), t0).has_value());
  CHECK(d.admit(ns("2001:db8::5"), kBr0, t0) == Discovery::Verdict::kProbe);
  CHECK(d.screen(ns("2001:db8::5", kEth0, "fe80::2"), t0) == Discovery::Verdict::kPending);
  CHECK(d.next_wakeup() == t0 + 1000ms);
  std::vector<IfAddressKey> expired;
  d.expire(t0 + 999ms, expired);
  CHECK(expired.empty());
  d.expire(t0 + 1000ms, expired);
  REQUIRE(expired.size() == 1);
  CHECK(expired[0] == IfAddressKey{kBr0, ip("2001:db8::5")});
  CHECK(d.screen(ns("2001:db8::5"), t0 + 20s) == Discovery::Verdict::kNegative);
  CHECK_FALSE(d.screen(ns("2001:db8::5"), t0 + 31s).has_value());  // the TTL is over
  const auto& c = d.counters();
  CHECK(c.probes == 1);
  CHECK(c.repeats == 1);
  CHECK(c.not_found == 1);
  CHECK(c.negative_hits == 1);
  CHECK_FALSE(d.next_wakeup().has_value());
}

TEST_CASE("discovery: found answers the solicitors on that uplink only") {
  Discovery d;
  const SteadyTime t0{};
  REQUIRE(d.admit(ns("2001:db8::5"), kBr0, t0) == Discovery::Verdict::kProbe);
  for (int i = 0; i < 10; ++i) {
    d.screen(ns("2001:db8::5", kEth0, "fe80::" + hex(i + 2)), t0);
  }
  d.screen(ns("2001:db8::5", kVc1, "fe80::99"), t0);  // kept (4 at most), not answered on eth0
  const auto answer = d.found(ip("2001:db8::5"), kEth0);
  CHECK(answer.size() == 4);  // the first solicitor and three more: solicitors_kept
  CHECK_FALSE(d.pending(ip("2001:db8::5")));
  CHECK(d.found(ip("2001:db8::5"), kEth0).empty());
  CHECK(d.counters().found == 1);
}

TEST_CASE("discovery: the rate and the in-flight limit bound the probes") {
  Discovery d({.rate = 100, .in_flight = 64});
  const SteadyTime t0{};
  int probed = 0;
  // 10,000 distinct targets over 10 s, 1,000 a second, expired as the agent's tick would.
  for (int i = 0; i < 10000; ++i) {
    const auto now = t0 + std::chrono::milliseconds(i);
    std::vector<IfAddressKey> expired;
    d.expire(now, expired);
    const auto s = ns("2001:db8::1:" + hex(i + 1));
    if (d.screen(s, now)) continue;
    if (d.admit(s, kBr0, now) == Discovery::Verdict::kProbe) ++probed;
    CHECK(d.pending_count() <= 64);
  }
  // At most 64 in flight, each for a second: about 64 a second over ten seconds.
  CHECK(probed <= 64 * 11);
  CHECK(probed >= 64 * 9);
  CHECK(d.counters().limited == 10000 - static_cast<std::uint64_t>(probed));

  Discovery slow({.rate = 5});
  int slow_probed = 0;
  for (int i = 0; i < 1000; ++i) {
    const auto s = ns("2001:db8::2:" + hex(i + 1));
    if (slow.admit(s, kBr0, t0 + std::chrono::milliseconds(i * 10)) == Discovery::Verdict::kProbe) {
      ++slow_probed;
    }
    std::vector<IfAddressKey> expired;
    slow.expire(t0 + std::chrono::milliseconds(i * 10), expired);
  }
  CHECK(slow_probed <= 5 + 5 * 10);  // one second's burst, then the rate
}

TEST_CASE("discovery: the negative cache stays within its size") {
  Discovery d({.negative_max = 100});
  const SteadyTime t0{};
  for (int i = 0; i < 1000; ++i) d.refuse(ip("2001:db8::3:" + hex(i + 1)), t0);
  CHECK(d.negative_count() == 100);
  CHECK(d.screen(ns("2001:db8::3:3e8"), t0) == Discovery::Verdict::kNegative);  // the newest
  CHECK_FALSE(d.screen(ns("2001:db8::3:1"), t0).has_value());                   // evicted
}

namespace {

// The agent with both packet seams: the loop hands it solicitations; adverts go to the fake. The
// fake lab's downstream interfaces get the prefix routes their addresses would have.
struct DiscoveryHarness : AgentHarness {
  explicit DiscoveryHarness(Config config = {})
      : AgentHarness(with_long_liveness(std::move(config)), [](AgentHarness& h) {
          h.kernel.add_route("2001:db8:0:1::1:0/112", kVc1, std::nullopt);
          h.kernel.add_route("2001:db8:0:1::2:0/112", kBr0, std::nullopt);
          h.kernel.drop_events();
          h.agent->set_advert_port(&h.adverts);
        }) {}
  void solicit(std::string_view target, IfIndex on = kEth0, std::string_view from = "fe80::1") {
    agent->on_solicitations({ns(target, on, from)}, now);
  }
  [[nodiscard]] std::size_t probes_of(std::string_view address) const {
    return static_cast<std::size_t>(
        std::count_if(kernel.probes.begin(), kernel.probes.end(),
                      [&](const auto& p) { return p.second == ip(address); }));
  }
};

}  // namespace

TEST_CASE("agent on-demand: a silent container is probed, proxied and the router answered") {
  DiscoveryHarness h;
  CHECK(h.adverts.allmulti[kEth0] == 1);  // taken at start
  h.solicit("2001:db8:0:1::2:40");
  REQUIRE(h.probes_of("2001:db8:0:1::2:40") == 1);
  CHECK(h.kernel.probes.back().first == kBr0);                   // where its route leads
  CHECK_FALSE(h.kernel.has_proxy(kEth0, "2001:db8:0:1::2:40"));  // a probe is no claim
  CHECK(h.adverts.sent.empty());
  // The router retransmits while we wait: no second probe.
  h.solicit("2001:db8:0:1::2:40");
  CHECK(h.probes_of("2001:db8:0:1::2:40") == 1);
  // The container answers the kernel's probe.
  h.kernel.set_neighbour(kBr0, "2001:db8:0:1::2:40", kNudReachable, false, "02:00:00:00:02:40");
  h.pump();
  REQUIRE(h.kernel.has_proxy(kEth0, "2001:db8:0:1::2:40"));
  REQUIRE(h.adverts.sent.size() == 1);  // one solicitor (fe80::1), answered once
  const auto& a = h.adverts.sent[0];
  CHECK(a.ifindex == kEth0);
  CHECK(a.destination == ip("fe80::1"));
  CHECK(a.destination_mac == mac("02:00:00:00:00:01"));  // the frame's source
  CHECK(a.source == ip("fe80::ff:fe00:2"));              // the uplink's link-local address
  CHECK(a.target == ip("2001:db8:0:1::2:40"));
  CHECK(a.lladdr == mac("02:00:00:00:00:02"));  // the uplink's: the host answers for it
  CHECK(a.solicited);
  CHECK(a.router);
  CHECK_FALSE(a.override);  // as the kernel's proxy answers: a node holding it itself wins
  const auto c = h.agent->counters();
  CHECK(c.on_demand_probes == 1);
  CHECK(c.on_demand_found == 1);
  CHECK(c.adverts_solicited == 1);
  CHECK(c.adverts_unsolicited == 0);  // answered: no second advert
  // Later solicitations are the kernel's to answer: nothing is counted or probed.
  h.solicit("2001:db8:0:1::2:40");
  CHECK(h.agent->counters().on_demand_solicitations == c.on_demand_solicitations);
  CHECK_FALSE(h.agent->next_wakeup().has_value());
  // Taken once, however many full passes follow; let go on exit.
  h.kernel.set_link_up(kEth0, false);
  h.kernel.set_link_up(kEth0, true);
  h.pump();
  CHECK(h.adverts.allmulti[kEth0] == 1);
  h.agent->release_allmulti();
  CHECK(h.adverts.allmulti[kEth0] == 0);
}

TEST_CASE("agent on-demand: silence leaves no neighbour entry and no claim") {
  DiscoveryHarness h;
  h.solicit("2001:db8:0:1::2:41");
  REQUIRE(h.probes_of("2001:db8:0:1::2:41") == 1);
  h.kernel.set_neighbour(kBr0, "2001:db8:0:1::2:41", kNudIncomplete);  // what the probe leaves
  h.pump();
  REQUIRE(h.agent->next_wakeup() == h.now + 1000ms);
  h.advance(1000ms);
  CHECK(h.kernel.neighbour_deletes ==
        std::vector<std::pair<IfIndex, Ipv6Address>>{{kBr0, ip("2001:db8:0:1::2:41")}});
  CHECK_FALSE(h.kernel.has_proxy(kEth0, "2001:db8:0:1::2:41"));
  CHECK(h.agent->counters().on_demand_not_found == 1);
  // The router asks again: not probed for the next 30 s.
  h.solicit("2001:db8:0:1::2:41");
  h.advance(10s);
  CHECK(h.probes_of("2001:db8:0:1::2:41") == 1);
  CHECK(h.agent->counters().on_demand_negative_hits == 1);
  CHECK(h.adverts.sent.empty());
}

TEST_CASE("agent on-demand: solicitations for what the guards refuse gain nothing") {
  Config config;
  config.deny = {prefix("2001:db8:0:1::2:f0/124")};
  config.interface_prefixes["vc1"] = {prefix("2001:db8:0:1::1:0/120")};
  DiscoveryHarness h(config);
  h.kernel.set_neighbour(kEth0, "2001:db8:0:1::b", kNudStale, false, "02:00:00:00:00:0b");
  h.pump();
  // The router: a gateway of the uplink (a router flag alone is a claim anyone can forge), never
  // claimed even when routed downstream.
  h.kernel.add_route("::/0", kEth0, "2001:db8:0:1::a");
  h.kernel.add_route("2001:db8:0:1::a/128", kBr0, std::nullopt);
  h.kernel.set_neighbour(kEth0, "2001:db8:0:1::a", kNudReachable, true, "02:00:00:00:00:0a");
  h.pump();
  const auto before = h.agent->counters();
  const struct {
    const char* description;
    IfIndex on;
    const char* target;
    bool counted;  // in the uplink's prefixes and not proxied: a solicitation we judge
  } cases[] = {
      {"the router", kEth0, "2001:db8:0:1::a", true},
      {"another node on the uplink", kEth0, "2001:db8:0:1::b", true},
      {"another container's (proxied)", kEth0, "2001:db8:0:1::1:2", false},
      {"denied", kEth0, "2001:db8:0:1::2:f1", true},
      {"outside the interface's prefixes", kEth0, "2001:db8:0:1::1:200", true},
      {"no downstream route (on the uplink's /64)", kEth0, "2001:db8:0:1::9:1", true},
      {"outside the prefixes", kEth0, "2001:db8:0:2::1", false},
      {"on a downstream interface", kBr0, "2001:db8:0:1::2:50", false},
  };
  std::uint64_t counted = 0;
  for (const auto& c : cases) {
    INFO(c.description);
    h.solicit(c.target, c.on);
    if (c.counted) ++counted;
    CHECK(h.agent->counters().on_demand_solicitations == before.on_demand_solicitations + counted);
  }
  CHECK(h.agent->counters().on_demand_refused == before.on_demand_refused + counted);
  CHECK(h.kernel.probes.empty());
  CHECK_FALSE(h.kernel.has_proxy(kEth0, "2001:db8:0:1::a"));
  CHECK(h.adverts.sent.empty());
}

TEST_CASE("agent on-demand: a scan from outside stays within the limits") {
  Config config;
  config.on_demand_rate = 50;
  DiscoveryHarness h(config);
  const auto proxies = h.kernel.proxies().size();
  // 10,000 random targets in the bridge's /112 and elsewhere in the /64, 1,000 a second.
  std::uint32_t seed = 1;
  for (int i = 0; i < 10000; ++i) {
    seed = seed * 1103515245 + 12345;
    std::array<char, 64> text{};
    std::snprintf(text.data(), text.size(), "2001:db8:0:1::%s:%x", i % 2 == 0 ? "2" : "7",
                  (seed >> 8) % 0xfff0 + 0x10);
    h.solicit(text.data());
    for (auto& [ifindex, address] : h.kernel.probes) {
      h.kernel.set_neighbour(ifindex, address.to_string(), kNudIncomplete);
    }
    h.kernel.probes.clear();
    h.advance(1ms);
  }
  h.advance(2000ms);
  const auto c = h.agent->counters();
  CHECK(c.on_demand_probes <= 50 + 50 * 10);
  CHECK(c.on_demand_probes > 0);
  CHECK(c.on_demand_found == 0);
  CHECK(c.on_demand_pending == 0);
  CHECK(h.kernel.proxies().size() == proxies);  // nothing for addresses nobody holds
  CHECK(h.kernel.has_proxy(kEth0, "2001:db8:0:1::2:2"));
  CHECK(h.kernel.has_proxy(kEth0, "2001:db8:0:1::1:2"));
  // Every probe's entry went again.
  CHECK(h.kernel.neighbour_deletes.size() == c.on_demand_probes);
  for (const auto& [ifindex, address] : h.kernel.neighbour_deletes) {
    CHECK_FALSE(h.kernel.has_neighbour(ifindex, address));
  }
}

TEST_CASE("agent on-demand: a reload that turns it off lets go of the all-multicast reference") {
  DiscoveryHarness h;
  CHECK(h.adverts.allmulti[kEth0] == 1);
  Config off;
  off.on_demand = false;
  h.agent->reload(off, h.now);
  h.pump();
  CHECK(h.adverts.allmulti[kEth0] == 0);
}

TEST_CASE("agent on-demand: off, nothing is probed and no all-multicast reference is taken") {
  Config config;
  config.on_demand = false;
  DiscoveryHarness h(config);
  h.solicit("2001:db8:0:1::2:40");
  CHECK(h.kernel.probes.empty());
  CHECK(h.agent->counters().on_demand_solicitations == 0);
  CHECK_FALSE(h.adverts.allmulti.contains(kEth0));
}

TEST_CASE("agent unsolicited_na: new claims after the start are announced, once") {
  DiscoveryHarness h;
  CHECK(h.adverts.sent.empty());  // the start's claims are not news
  h.kernel.set_neighbour(kBr0, "2001:db8:0:1::2:60", kNudReachable);
  h.pump();
  CHECK(h.adverts.sent.empty());  // not before the uplink was asked (test_hostile.cpp)
  h.advance(10ms);
  h.advance(1s);
  REQUIRE(h.adverts.sent.size() == 1);
  const auto& a = h.adverts.sent[0];
  CHECK(a.destination == ip("ff02::1"));
  CHECK(a.target == ip("2001:db8:0:1::2:60"));
  CHECK(a.override);
  CHECK_FALSE(a.solicited);
  CHECK(a.lladdr == mac("02:00:00:00:00:02"));
  // The kernel loses the entry (someone flushed the table): the re-add is no first claim.
  h.kernel.erase_proxy(kEth0, "2001:db8:0:1::2:60");
  h.agent->resync(h.now, ResyncReason::kPeriodic);
  REQUIRE(h.kernel.has_proxy(kEth0, "2001:db8:0:1::2:60"));
  CHECK(h.adverts.sent.size() == 1);
  CHECK(h.agent->counters().adverts_unsolicited == 1);

  Config off;
  off.unsolicited_na = false;
  DiscoveryHarness o(off);
  o.kernel.set_neighbour(kBr0, "2001:db8:0:1::2:60", kNudReachable);
  o.pump();
  CHECK(o.kernel.has_proxy(kEth0, "2001:db8:0:1::2:60"));
  CHECK(o.adverts.sent.empty());
}

TEST_CASE("discovery: a link's change forgets its misses and the refusals, not another's") {
  Discovery d;
  const SteadyTime t0{};
  REQUIRE(d.admit(ns("2001:db8::5"), kBr0, t0) == Discovery::Verdict::kProbe);
  REQUIRE(d.admit(ns("2001:db8::6"), kVc1, t0) == Discovery::Verdict::kProbe);
  d.refuse(ip("2001:db8::7"), t0);  // no downstream route
  std::vector<IfAddressKey> expired;
  d.expire(t0 + 1s, expired);
  REQUIRE(d.negative_count() == 3);
  d.link_changed(kBr0, t0 + 2s);                                  // br0 gained a port
  CHECK_FALSE(d.screen(ns("2001:db8::5"), t0 + 2s).has_value());  // probed again
  CHECK_FALSE(d.screen(ns("2001:db8::7"), t0 + 2s).has_value());  // a route may lead there now
  CHECK(d.screen(ns("2001:db8::6"), t0 + 2s) == Discovery::Verdict::kNegative);
  CHECK(d.counters().forgiven == 2);
}

TEST_CASE("discovery: a probe whose link changed while it waited is no miss") {
  Discovery d;
  const SteadyTime t0{};
  REQUIRE(d.admit(ns("2001:db8::5"), kBr0, t0) == Discovery::Verdict::kProbe);
  REQUIRE(d.admit(ns("2001:db8::6"), kVc1, t0) == Discovery::Verdict::kProbe);
  // br0's link-local address finishes DAD: the probe sent before never left.
  d.link_changed(kBr0, t0 + 500ms);
  std::vector<IfAddressKey> expired;
  d.expire(t0 + 1s, expired);
  CHECK(expired.size() == 2);  // both neighbour entries go
  CHECK_FALSE(d.screen(ns("2001:db8::5"), t0 + 1s).has_value());
  CHECK(d.screen(ns("2001:db8::6"), t0 + 1s) == Discovery::Verdict::kNegative);
  CHECK(d.counters().forgiven == 1);
  // A change before a probe started says nothing about it.
  REQUIRE(d.admit(ns("2001:db8::8"), kBr0, t0 + 1200ms) == Discovery::Verdict::kProbe);
  d.expire(t0 + 2200ms, expired);
  CHECK(d.screen(ns("2001:db8::8"), t0 + 2200ms) == Discovery::Verdict::kNegative);
}

TEST_CASE("agent on-demand: a bridge that gains a port, or finishes DAD, is probed again") {
  DiscoveryHarness h;
  h.solicit("2001:db8:0:1::2:42");
  REQUIRE(h.probes_of("2001:db8:0:1::2:42") == 1);
  h.advance(1000ms);  // unanswered: cached
  h.solicit("2001:db8:0:1::2:42");
  CHECK(h.probes_of("2001:db8:0:1::2:42") == 1);
  CHECK(h.agent->counters().on_demand_negative_hits == 1);
  // The container's veth joins br0.
  h.kernel.add_link({.index = 40,
                     .name = "vb40",
                     .kind = "veth",
                     .master = kBr0,
                     .up = true,
                     .carrier = true,
                     .mac = mac("02:00:00:00:00:40")});
  h.pump();
  h.solicit("2001:db8:0:1::2:42");
  CHECK(h.probes_of("2001:db8:0:1::2:42") == 2);
  // That probe never leaves (br0's link-local address is tentative); DAD ends as it waits.
  h.advance(500ms);
  h.kernel.add_address(kBr0, "fe80::b0", 64);
  h.pump();
  h.advance(500ms);
  CHECK(h.agent->counters().on_demand_not_found == 2);
  CHECK(h.agent->counters().on_demand_forgiven == 2);
  h.solicit("2001:db8:0:1::2:42");
  CHECK(h.probes_of("2001:db8:0:1::2:42") == 3);
}
