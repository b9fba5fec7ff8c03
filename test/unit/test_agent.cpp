#include "catch2_compat.hpp"

#include "agent_harness.hpp"

using namespace ndpsync;
using namespace ndpsync::testing;
using namespace std::chrono_literals;

namespace {

struct Harness : AgentHarness {
  explicit Harness(Config config = {}) : AgentHarness(with_long_liveness(std::move(config))) {}
  bool probed(std::string_view address) const {
    return std::any_of(kernel.probes.begin(), kernel.probes.end(),
                       [&](const auto& p) { return p.second == ip(address); });
  }
};

}  // namespace

TEST_CASE("agent: start installs the lab, adopts ours and leaves the admin's") {
  FakeKernel kernel;
  build_lab(kernel);
  kernel.put_proxy(kEth0, "2001:db8:0:1::1:2", kOwner);   // from an earlier run
  kernel.put_proxy(kEth0, "2001:db8:0:1::dead", kOwner);  // stale, from an earlier run
  kernel.put_proxy(kEth0, "2001:db8:0:1::beef", 0);       // the admin's
  AgentCore agent(Config{}, kernel);
  agent.resync({}, ResyncReason::kStart);
  CHECK(kernel.proxies().size() == 6);
  CHECK_FALSE(kernel.has_proxy(kEth0, "2001:db8:0:1::dead"));
  CHECK(kernel.has_proxy(kEth0, "2001:db8:0:1::beef"));
  CHECK(agent.counters().adds == 4);  // ::1:2 was adopted, not re-added
  CHECK(agent.counters().removes == 1);
  CHECK(kernel.sysctls[{SysctlKey::Tree::kConf, "all", "proxy_ndp"}] == "1");
}

TEST_CASE("agent: a burst of events is applied with one reconcile") {
  Harness h;
  const auto before = h.agent->counters().reconciles;
  for (int i = 1; i <= 200; ++i) {
    h.kernel.set_neighbour(kBr0, "2001:db8:0:1::3:" + std::to_string(i), kNudReachable);
  }
  h.pump();
  CHECK(h.agent->counters().reconciles == before + 1);
  CHECK(h.kernel.proxies().size() == 205);
  // Nothing changed: no reconcile work, no writes.
  const int writes = h.kernel.add_calls;
  h.pump();
  CHECK(h.kernel.add_calls == writes);
  CHECK(h.agent->counters().reconciles == before + 1);
}

TEST_CASE("agent: the uplink going down and up gets its entries back") {
  Harness h;
  h.kernel.set_link_up(kEth0, false);  // the kernel purges, silently
  CHECK(h.kernel.proxies().empty());
  h.pump();
  CHECK(h.kernel.proxies().size() == 5);
  h.kernel.set_link_up(kEth0, true);
  h.pump();
  CHECK(h.kernel.proxies().size() == 5);
}

TEST_CASE("agent: IPv6 disabled and enabled on the uplink gets its entries back") {
  // NetworkManager's connection down and up: disable_ipv6 = 1, then 0, on a link that stays up.
  Harness h;
  h.kernel.add_address(kEth0, "fe80::2", 64);
  h.pump();
  REQUIRE(h.kernel.proxies().size() == 5);
  const auto resyncs = h.agent->counters().resyncs;
  h.kernel.set_ipv6_disabled(kEth0, true);  // purges, silently; only the addresses leave
  CHECK(h.kernel.proxies().empty());
  h.pump();
  CHECK(h.kernel.proxies().size() == 5);  // back from the link-local address leaving
  h.kernel.set_ipv6_disabled(kEth0, false);
  h.pump();
  CHECK(h.kernel.proxies().size() == 5);
  CHECK(h.agent->counters().resyncs == resyncs);  // from the events, not from a dump
}

TEST_CASE("agent: the link-local address leaving before IPv6 is disabled, and coming back") {
  // NetworkManager 1.52's connection down, as measured: it deletes the addresses itself (the
  // link-local one too), and only then sets disable_ipv6 = 1, whose purge no event tells of.
  // Its connection up: disable_ipv6 = 0, and the kernel adds the link-local address again.
  Harness h;
  REQUIRE(h.kernel.proxies().size() == 5);
  h.kernel.remove_address(kEth0, "2001:db8:0:1:0:ff:fe00:2");
  h.kernel.remove_address(kEth0, "fe80::ff:fe00:2");
  h.pump();
  CHECK(h.kernel.proxies().size() == 5);    // re-added at once: IPv6 is still on
  h.kernel.set_ipv6_disabled(kEth0, true);  // purges, silently, with no address left to leave
  h.pump();
  CHECK(h.kernel.proxies().empty());
  h.kernel.set_ipv6_disabled(kEth0, false);  // a link-local address comes back
  h.pump();
  CHECK(h.kernel.proxies().size() == 5);  // back from the link-local address arriving
}

TEST_CASE("agent: a networking restart keeps entries through the gap") {
  Harness h;
  // eth0 loses its addresses and the RA route, goes down and up, and the route comes back.
  h.kernel.remove_route("::/0", kEth0);
  h.kernel.remove_address(kEth0, "2001:db8:0:1:0:ff:fe00:2");
  h.kernel.set_link_up(kEth0, false);
  h.pump();
  CHECK(h.kernel.proxies().size() == 5);  // re-added from the remembered prefixes at once
  CHECK(h.agent->counters().removes == 0);
  h.kernel.set_link_up(kEth0, true);
  h.kernel.sysctls[{SysctlKey::Tree::kConf, "eth0", "proxy_ndp"}] = "0";  // reset by ifup
  h.pump();
  CHECK(h.kernel.proxies().size() == 5);
  h.kernel.add_address(kEth0, "2001:db8:0:1:0:ff:fe00:2", 64);
  h.kernel.add_route("::/0", kEth0, "fe80::1");
  h.agent->resync(h.now, ResyncReason::kPeriodic);
  CHECK(h.kernel.sysctls[{SysctlKey::Tree::kConf, "eth0", "proxy_ndp"}] == "1");
}

TEST_CASE("agent: forwarding or proxy_ndp written by another program is repaired at once") {
  Harness h;
  const auto repairs = h.agent->counters().sysctl_repairs;
  // A network manager reconfiguring the uplink writes its proxy_ndp, someone all.forwarding.
  h.kernel.set_sysctl({SysctlKey::Tree::kConf, "eth0", "proxy_ndp"}, "0");
  h.kernel.set_sysctl({SysctlKey::Tree::kConf, "all", "forwarding"}, "0");
  h.pump();  // no resync: the kernel's announcements alone
  CHECK(h.kernel.sysctls[{SysctlKey::Tree::kConf, "eth0", "proxy_ndp"}] == "1");
  CHECK(h.kernel.sysctls[{SysctlKey::Tree::kConf, "all", "forwarding"}] == "1");
  CHECK(h.agent->counters().sysctl_repairs == repairs + 2);
  // Our own writes were announced too, and found nothing more to do.
  const auto writes = h.kernel.sysctl_writes.size();
  h.pump();
  CHECK(h.kernel.sysctl_writes.size() == writes);
  CHECK(h.kernel.pending_events() == 0);
  // Another interface's (downstream) forwarding is not ours to keep.
  h.kernel.set_sysctl({SysctlKey::Tree::kConf, "br0", "forwarding"}, "0");
  h.pump();
  CHECK(h.kernel.sysctl_writes.size() == writes);
}

TEST_CASE("agent: drift is repaired by the periodic resync") {
  Harness h;
  h.kernel.erase_proxy(kEth0, "2001:db8:0:1::2:2");  // an admin deletes one of ours
  h.kernel.sysctls[{SysctlKey::Tree::kConf, "all", "proxy_ndp"}] = "0";
  h.pump();
  CHECK_FALSE(h.kernel.has_proxy(kEth0, "2001:db8:0:1::2:2"));  // no event: unseen until...
  h.agent->resync(h.now, ResyncReason::kPeriodic);
  CHECK(h.kernel.has_proxy(kEth0, "2001:db8:0:1::2:2"));
  CHECK(h.kernel.sysctls[{SysctlKey::Tree::kConf, "all", "proxy_ndp"}] == "1");
  CHECK(h.agent->counters().sysctl_repairs == 1);
}

TEST_CASE("agent: an overrun re-reads everything") {
  Harness h;
  h.kernel.set_neighbour(kBr0, "2001:db8:0:1::2:9", kNudReachable);
  h.kernel.remove_neighbour(kBr0, "2001:db8:0:1::2:3");
  h.kernel.remove_address(kVc1, "2001:db8:0:1::1:1");
  h.kernel.drop_events();  // lost
  h.agent->resync(h.now, ResyncReason::kOverrun);
  CHECK(h.agent->counters().overruns == 1);
  CHECK(h.kernel.has_proxy(kEth0, "2001:db8:0:1::2:9"));
  CHECK_FALSE(h.kernel.has_proxy(kEth0, "2001:db8:0:1::1:1"));
  // ::2:3's neighbour vanished while we were not looking: verified like any other.
  CHECK(h.kernel.has_proxy(kEth0, "2001:db8:0:1::2:3"));
}

TEST_CASE("agent liveness: a vanished neighbour is verified before it is withdrawn") {
  SECTION("the container answers the probe: it stays") {
    Harness h;
    h.kernel.remove_neighbour(kBr0, "2001:db8:0:1::2:3");  // garbage collection, a flush
    h.pump();
    CHECK(h.probed("2001:db8:0:1::2:3"));
    CHECK(h.kernel.has_proxy(kEth0, "2001:db8:0:1::2:3"));
    h.kernel.set_neighbour(kBr0, "2001:db8:0:1::2:3", kNudReachable);
    h.pump();
    h.advance(31s);
    CHECK(h.kernel.has_proxy(kEth0, "2001:db8:0:1::2:3"));
    CHECK(h.agent->liveness().verifying().empty());
  }
  SECTION("nobody answers: withdrawn at the timeout, not before") {
    Harness h;
    h.kernel.set_neighbour(kBr0, "2001:db8:0:1::2:3", kNudFailed);
    h.pump();
    h.advance(29s);
    CHECK(h.kernel.has_proxy(kEth0, "2001:db8:0:1::2:3"));
    CHECK(h.kernel.probes.size() >= 2);  // re-probed while verifying
    h.advance(1s);
    CHECK_FALSE(h.kernel.has_proxy(kEth0, "2001:db8:0:1::2:3"));
    CHECK(h.agent->counters().withdrawals == 1);
    CHECK(h.kernel.has_proxy(kEth0, "2001:db8:0:1::2:2"));  // its neighbour on the bridge stays
    CHECK_FALSE(h.agent->next_wakeup());                    // nothing pending: no wakeups
  }
  SECTION("a neighbour gone by its verdict leaves no verdict behind") {
    // It turned FAILED, garbage collection deleted it while it was being verified: once it is
    // withdrawn there is nothing left to remember (a churning host would pile these up).
    Harness h;
    h.kernel.set_neighbour(kBr0, "2001:db8:0:1::2:3", kNudFailed);
    h.pump();
    h.kernel.remove_neighbour(kBr0, "2001:db8:0:1::2:3");
    h.pump();
    h.advance(30s);
    CHECK_FALSE(h.kernel.has_proxy(kEth0, "2001:db8:0:1::2:3"));
    CHECK(h.agent->counters().withdrawals == 1);
    CHECK(h.agent->liveness().withdrawn().empty());
    CHECK(h.agent->liveness().verifying().empty());
  }
  SECTION("a withdrawn container that speaks again is claimed again") {
    Harness h;
    h.kernel.remove_neighbour(kBr0, "2001:db8:0:1::2:3");
    h.pump();
    h.advance(30s);
    CHECK_FALSE(h.kernel.has_proxy(kEth0, "2001:db8:0:1::2:3"));
    h.kernel.set_neighbour(kBr0, "2001:db8:0:1::2:3", kNudReachable);
    h.pump();
    CHECK(h.kernel.has_proxy(kEth0, "2001:db8:0:1::2:3"));
  }
}

TEST_CASE("agent liveness: a STALE neighbour is probed, an idle live one stays") {
  Harness h;
  h.kernel.set_neighbour(kVc1, "2001:db8:0:1::1:2", kNudStale);
  h.pump();
  CHECK(h.probed("2001:db8:0:1::1:2"));
  h.kernel.set_neighbour(kVc1, "2001:db8:0:1::1:2", kNudProbe);
  h.kernel.set_neighbour(kVc1, "2001:db8:0:1::1:2", kNudReachable);
  h.pump();
  h.advance(60s);
  CHECK(h.kernel.has_proxy(kEth0, "2001:db8:0:1::1:2"));
}

TEST_CASE("agent liveness: a port leaving the bridge gets the bridge's neighbours verified") {
  Harness h;
  h.kernel.set_neighbour(kBr0, "2001:db8:0:1::2:2", kNudReachable);
  h.pump();
  h.kernel.probes.clear();
  h.kernel.remove_link(kVb3);  // c3 stopped
  h.pump();
  CHECK(h.probed("2001:db8:0:1::2:2"));
  CHECK(h.probed("2001:db8:0:1::2:3"));
  h.kernel.set_neighbour(kBr0, "2001:db8:0:1::2:2", kNudReachable);  // c2 answers
  h.kernel.set_neighbour(kBr0, "2001:db8:0:1::2:3", kNudFailed);     // c3 cannot
  h.pump();
  h.advance(30s);
  CHECK(h.kernel.has_proxy(kEth0, "2001:db8:0:1::2:2"));
  CHECK_FALSE(h.kernel.has_proxy(kEth0, "2001:db8:0:1::2:3"));
}

TEST_CASE("agent: a deleted veth takes its entries at once") {
  Harness h;
  h.kernel.remove_link(kVc1);
  h.pump();
  CHECK_FALSE(h.kernel.has_proxy(kEth0, "2001:db8:0:1::1:1"));
  CHECK_FALSE(h.kernel.has_proxy(kEth0, "2001:db8:0:1::1:2"));
  CHECK(h.kernel.proxies().size() == 3);
}

TEST_CASE("agent: failed writes stay pending and are retried with backoff") {
  Harness h;
  h.kernel.fail_add.insert(ip("2001:db8:0:1::2:7"));
  h.kernel.set_neighbour(kBr0, "2001:db8:0:1::2:7", kNudReachable);
  h.pump();
  CHECK(h.kernel.add_calls == 6);
  REQUIRE(h.agent->next_wakeup());
  CHECK(*h.agent->next_wakeup() - h.now == 1s);
  CHECK(h.agent->status(h.now)["pending"].size() == 1);
  h.pump();  // an unrelated batch does not retry early
  CHECK(h.kernel.add_calls == 6);
  h.advance(1s);
  CHECK(h.kernel.add_calls == 7);
  CHECK(*h.agent->next_wakeup() - h.now == 2s);
  h.kernel.fail_add.clear();
  h.advance(2s);
  CHECK(h.kernel.has_proxy(kEth0, "2001:db8:0:1::2:7"));
  CHECK(h.agent->status(h.now)["pending"].empty());
  CHECK(h.agent->counters().errors == 2);
}

TEST_CASE("agent: reload replaces the config and the table follows") {
  Harness h;
  Config narrower;
  narrower.downstream = {"vc*"};
  h.agent->reload(narrower, h.now);
  CHECK(h.kernel.proxies().size() == 2);
  CHECK(h.agent->counters().reloads == 1);
}

TEST_CASE("agent: remove_owned removes ours only") {
  Harness h;
  h.kernel.put_proxy(kEth0, "2001:db8:0:1::beef", 0);
  h.agent->remove_owned(h.now);
  CHECK(h.kernel.proxies().size() == 1);
}

TEST_CASE("agent: status carries the documented keys") {
  Harness h;
  const auto s = h.agent->status(h.now);
  for (const char* key :
       {"schema", "version", "mode", "pid", "started", "last_resync", "uplinks", "sysctls",
        "downstream", "entries", "foreign", "skipped", "verifying", "withdrawn", "pending",
        "counters", "missing_uplinks", "uplink_candidates", "capped_macs"}) {
    INFO(key);
    CHECK(s.contains(key));
  }
  CHECK(s["entries"].size() == 5);
  CHECK(s["entries"][0].contains("since"));
  CHECK(s["uplinks"][0]["sysctls"][0]["found"] == "1");
  CHECK(s["uplinks"][0]["source"] == "default-route");
  CHECK(s["uplinks"][0]["evidence"].empty());
  for (const char* counter : {"events", "adds", "removes", "errors", "resyncs", "overruns"}) {
    CHECK(s["counters"].contains(counter));
  }
}

TEST_CASE("agent: judging only the touched addresses equals judging them all") {
  // A seeded random walk of downstream changes (addresses, neighbours, host routes): after every
  // batch, the incremental decision must be exactly what a fresh decide() says.
  Harness h;
  std::uint32_t seed = 12345;
  const auto next = [&seed](std::uint32_t n) {
    seed = seed * 1103515245U + 12345U;
    return (seed >> 8) % n;
  };
  const NudState states[] = {kNudReachable, kNudStale,      kNudDelay,
                             kNudFailed,    kNudIncomplete, kNudPermanent};
  const IfIndex interfaces[] = {kVc1, kBr0};
  const char* addresses[] = {
      "2001:db8:0:1::4:1", "2001:db8:0:1::4:2", "2001:db8:0:1::4:3",       "fe80::4:4",
      "2001:db8:9::5",     "2001:db8:0:1::4:6", "2001:db8:0:1:0:ff:fe00:2"};
  std::size_t reconciled = 0;
  const auto full_before = h.agent->counters().full_reconciles;
  for (int batch = 0; batch < 300; ++batch) {
    for (std::uint32_t i = 0, n = 1 + next(4); i < n; ++i) {
      const auto ifindex = interfaces[next(2)];
      const auto* address = addresses[next(7)];
      if (next(5) == 0) {
        // The same address on the uplink: another node's, the host's own (its MAC), a router's.
        if (next(3) == 0) {
          h.kernel.remove_neighbour(kEth0, address);
        } else {
          h.kernel.set_neighbour(kEth0, address, states[next(6)], /*router=*/next(4) == 0,
                                 next(2) == 0 ? "02:00:00:00:00:02" : "02:00:00:00:00:77");
        }
        continue;
      }
      switch (next(6)) {
        case 0: h.kernel.remove_neighbour(ifindex, address); break;
        case 1: h.kernel.add_address(ifindex, address, 112); break;
        case 2: h.kernel.remove_address(ifindex, address); break;
        case 3:  // a routed NIC's /128
          h.kernel.add_route({.destination = prefix(std::string(address) + "/128"),
                              .oif = ifindex,
                              .protocol = 3});
          break;
        case 4: h.kernel.remove_route(std::string(address) + "/128", ifindex); break;
        default: h.kernel.set_neighbour(ifindex, address, states[next(6)]); break;
      }
    }
    const auto reconciles = h.agent->counters().reconciles;
    h.pump();
    reconciled += h.agent->counters().reconciles - reconciles;
    const auto fresh = decide(h.agent->config(), h.agent->observed(), h.agent->liveness().view());
    INFO("batch " << batch);
    REQUIRE(h.agent->decision().desired.size() == fresh.desired.size());
    CHECK(std::equal(fresh.desired.begin(), fresh.desired.end(),
                     h.agent->decision().desired.begin(), [](const auto& a, const auto& b) {
                       return a.first == b.first && a.second.source == b.second.source &&
                              a.second.source_ifindex == b.second.source_ifindex;
                     }));
    CHECK(h.agent->decision().skipped == fresh.skipped);
    // Uplink roles (router, another node's) show in the skipped reasons above; the caps'
    // bookkeeping must agree too.
    CHECK(h.agent->decision().admitted == fresh.admitted);
    std::set<ProxyEntry> wanted;
    for (const auto& [key, d] : fresh.desired) wanted.insert({key.first, key.second, kOwner});
    std::set<ProxyEntry> ours;
    for (const auto& e : h.kernel.proxies()) ours.insert(e);
    CHECK(ours == wanted);
  }
  CHECK(reconciled > 200);
  // Liveness verdicts force a few full passes; the rest must have been incremental.
  CHECK(h.agent->counters().full_reconciles - full_before < reconciled / 4);
}

TEST_CASE("agent liveness: a static neighbour removed by hand is gone at once") {
  Harness h;
  h.kernel.set_neighbour(kBr0, "2001:db8:0:1::2:40", kNudPermanent);
  h.pump();
  CHECK(h.kernel.has_proxy(kEth0, "2001:db8:0:1::2:40"));
  h.kernel.remove_neighbour(kBr0, "2001:db8:0:1::2:40");
  h.pump();
  CHECK_FALSE(h.kernel.has_proxy(kEth0, "2001:db8:0:1::2:40"));
  CHECK_FALSE(h.probed("2001:db8:0:1::2:40"));
}

TEST_CASE("agent liveness: probes go out in paced bursts") {
  Harness h;
  for (int i = 1; i <= 300; ++i) {
    h.kernel.set_neighbour(kBr0, "2001:db8:0:1::6:" + std::to_string(i), kNudReachable);
  }
  h.pump();
  for (int i = 1; i <= 300; ++i) {
    h.kernel.remove_neighbour(kBr0, "2001:db8:0:1::6:" + std::to_string(i));  // a flush
  }
  h.pump();
  CHECK(h.kernel.probes.size() == 128);
  REQUIRE(h.agent->next_wakeup());
  CHECK(*h.agent->next_wakeup() - h.now == 100ms);
  h.advance(100ms);
  CHECK(h.kernel.probes.size() == 256);
  h.advance(100ms);
  CHECK(h.kernel.probes.size() == 300);
  CHECK(h.kernel.proxies().size() == 305);  // all still claimed while they are verified
}

TEST_CASE("agent: a restart verifies our entries whose neighbour vanished meanwhile") {
  FakeKernel kernel;
  build_lab(kernel);
  kernel.put_proxy(kEth0, "2001:db8:0:1::2:2", kOwner);  // installed by the previous run...
  kernel.remove_neighbour(kBr0, "2001:db8:0:1::2:2");    // ...then flushed while it was down
  kernel.put_proxy(kEth0, "2001:db8:0:1::9:9", kOwner);  // covered by no downstream prefix
  kernel.drop_events();
  Config config;
  config.liveness_timeout = 30s;
  AgentCore agent(config, kernel);
  SteadyTime now{};
  agent.resync(now, ResyncReason::kStart);
  CHECK(kernel.has_proxy(kEth0, "2001:db8:0:1::2:2"));  // held while it is probed on br0
  CHECK(std::any_of(kernel.probes.begin(), kernel.probes.end(), [](const auto& p) {
    return p.first == kBr0 && p.second == ip("2001:db8:0:1::2:2");
  }));
  CHECK_FALSE(kernel.has_proxy(kEth0, "2001:db8:0:1::9:9"));
  kernel.set_neighbour(kBr0, "2001:db8:0:1::2:2", kNudReachable);  // it answers
  std::vector<KernelEvent> batch;
  kernel.drain(batch);
  agent.on_events(batch, now);
  agent.reconcile(now);
  agent.tick(now + 31s);
  CHECK(kernel.has_proxy(kEth0, "2001:db8:0:1::2:2"));
}

TEST_CASE("agent liveness: static neighbours lost in an overrun are not probed") {
  Harness h;
  for (int i = 1; i <= 50; ++i) {
    h.kernel.set_neighbour(kBr0, "2001:db8:0:1::7:" + std::to_string(i), kNudPermanent);
  }
  h.pump();
  for (int i = 1; i <= 50; ++i) {
    h.kernel.remove_neighbour(kBr0, "2001:db8:0:1::7:" + std::to_string(i));
  }
  h.kernel.drop_events();  // lost in the overrun
  h.agent->resync(h.now, ResyncReason::kOverrun);
  CHECK(h.kernel.probes.empty());
  CHECK(h.kernel.proxies().size() == 5);
}

TEST_CASE("agent: the router's link-local entry changing state costs no reconcile") {
  Harness h;
  const auto before = h.agent->counters();
  h.kernel.set_neighbour(kEth0, "fe80::1", kNudStale, /*router=*/true, "02:00:00:00:00:01");
  h.kernel.set_neighbour(kBr0, "ff02::16", kNudNoArp);
  h.pump();
  REQUIRE(h.agent->counters().events == before.events + 2);    // the agent saw both
  CHECK(h.agent->counters().reconciles == before.reconciles);  // and judged nothing

  // A batch that also changes a container's neighbour costs one reconcile, of that address only.
  h.kernel.set_neighbour(kEth0, "fe80::1", kNudReachable, /*router=*/true, "02:00:00:00:00:01");
  h.kernel.set_neighbour(kBr0, "2001:db8:0:1::2:9", kNudReachable);
  h.pump();
  CHECK(h.agent->counters().reconciles == before.reconciles + 1);
  CHECK(h.agent->counters().full_reconciles == before.full_reconciles);
}

TEST_CASE("agent: an entry's since is when it was installed or adopted, across re-judging") {
  using std::chrono::system_clock;
  FakeKernel kernel;
  build_lab(kernel);
  kernel.put_proxy(kEth0, "2001:db8:0:1::1:2", kOwner);  // from an earlier run: adopted
  auto wall = system_clock::from_time_t(1'700'000'000);
  AgentCore agent(Config{}, kernel, [&] { return wall; });
  SteadyTime now{};
  agent.resync(now, ResyncReason::kStart);
  const auto since_of = [&](std::string_view address) {
    const auto status = agent.status(now);
    for (const auto& e : status["entries"]) {
      if (e["address"] == std::string(address)) return e.value("since", std::string("none"));
    }
    return std::string("absent");
  };
  const auto pump = [&] {
    std::vector<KernelEvent> batch;
    kernel.drain(batch);
    agent.on_events(batch, now);
    agent.reconcile(now);
  };
  CHECK(since_of("2001:db8:0:1::1:2") == "2023-11-14T22:13:20Z");  // adopted at start
  wall += std::chrono::hours(1);
  kernel.set_neighbour(kBr0, "2001:db8:0:1::2:9", kNudReachable);
  pump();
  CHECK(since_of("2001:db8:0:1::2:9") == "2023-11-14T23:13:20Z");  // installed now
  wall += std::chrono::hours(1);
  // Re-judged address by address (its neighbour changes state), then all at once (a new link).
  kernel.set_neighbour(kBr0, "2001:db8:0:1::2:9", kNudStale);
  pump();
  CHECK(since_of("2001:db8:0:1::2:9") == "2023-11-14T23:13:20Z");
  kernel.add_link({.index = 40, .name = "vnew", .kind = "veth", .up = true, .carrier = true});
  pump();
  CHECK(agent.counters().full_reconciles >= 2);
  CHECK(since_of("2001:db8:0:1::2:9") == "2023-11-14T23:13:20Z");
  CHECK(since_of("2001:db8:0:1::1:2") == "2023-11-14T22:13:20Z");
  // The uplink loses its own address (held: nothing is removed). A container address goes and
  // comes back meanwhile; its entry never left the kernel, and keeps its note.
  kernel.remove_address(kEth0, "2001:db8:0:1:0:ff:fe00:2");
  pump();
  CHECK(since_of("2001:db8:0:1::1:1") == "2023-11-14T22:13:20Z");  // installed at start
  kernel.remove_address(kVc1, "2001:db8:0:1::1:1");
  pump();
  CHECK(kernel.has_proxy(kEth0, "2001:db8:0:1::1:1"));
  CHECK(since_of("2001:db8:0:1::1:1") == "absent");  // not wanted right now
  wall += std::chrono::hours(1);
  kernel.add_address(kVc1, "2001:db8:0:1::1:1", 112);
  pump();
  CHECK(since_of("2001:db8:0:1::1:1") == "2023-11-14T22:13:20Z");
  // An entry with our tag that someone else added is adopted when it is first seen wanted.
  kernel.put_proxy(kEth0, "2001:db8:0:1::2:7", kOwner);
  kernel.set_neighbour(kBr0, "2001:db8:0:1::2:7", kNudReachable);
  pump();
  CHECK(since_of("2001:db8:0:1::2:7") == "2023-11-15T01:13:20Z");
}

TEST_CASE("agent: since survives a batch that a cap sends to a full decide") {
  using std::chrono::system_clock;
  FakeKernel kernel;
  build_lab(kernel);
  auto wall = system_clock::from_time_t(1'700'000'000);
  Config config;
  config.max_entries = 6;
  AgentCore agent(config, kernel, [&] { return wall; });
  SteadyTime now{};
  agent.resync(now, ResyncReason::kStart);
  const auto pump = [&] {
    std::vector<KernelEvent> batch;
    kernel.drain(batch);
    agent.on_events(batch, now);
    agent.reconcile(now);
  };
  wall += std::chrono::hours(1);
  kernel.set_neighbour(kBr0, "2001:db8:0:1::2:9", kNudReachable);
  pump();
  REQUIRE(kernel.proxies().size() == 6);
  wall += std::chrono::hours(1);
  const auto full = agent.counters().full_reconciles;
  // One batch: the installed ::2:9 is re-judged first, then ::2:a meets the cap.
  kernel.set_neighbour(kBr0, "2001:db8:0:1::2:9", kNudStale);
  kernel.set_neighbour(kBr0, "2001:db8:0:1::2:a", kNudReachable);
  pump();
  CHECK(agent.counters().full_reconciles == full + 1);
  CHECK_FALSE(kernel.has_proxy(kEth0, "2001:db8:0:1::2:a"));
  const auto status = agent.status(now);
  std::string since;
  for (const auto& e : status["entries"]) {
    if (e["address"] == "2001:db8:0:1::2:9") since = e.value("since", "none");
  }
  CHECK(since == "2023-11-14T23:13:20Z");
}

TEST_CASE("agent: a malformed event message means a re-read, counted, never a guess") {
  Harness h;
  // The message that could not be parsed was a container's new neighbour: the event is lost.
  h.kernel.set_neighbour(kBr0, "2001:db8:0:1::2:9", kNudReachable);
  h.kernel.drop_events();
  h.kernel.set_neighbour(kVc1, "2001:db8:0:1::1:7", kNudReachable);  // understood
  h.kernel.malformed_next_drain = "RTM_NEWNEIGH: malformed message (Attribute failed validation)";
  std::vector<KernelEvent> batch;
  const auto result = h.kernel.drain(batch);
  REQUIRE(result == EventSource::Drain::kMalformed);
  const auto resyncs = h.agent->counters().resyncs;
  h.agent->on_drained(batch, result, h.now, h.kernel.last_error());
  CHECK(h.agent->counters().malformed == 1);
  CHECK(h.agent->counters().overruns == 0);
  CHECK(h.agent->counters().resyncs == resyncs + 1);
  CHECK(h.kernel.has_proxy(kEth0, "2001:db8:0:1::2:9"));  // from the re-read
  CHECK(h.kernel.has_proxy(kEth0, "2001:db8:0:1::1:7"));
  CHECK(h.agent->status(h.now)["counters"]["malformed"] == 1);
  // A clean batch just reconciles.
  h.kernel.set_neighbour(kVc1, "2001:db8:0:1::1:8", kNudReachable);
  batch.clear();
  h.agent->on_drained(batch, h.kernel.drain(batch), h.now);
  CHECK(h.kernel.has_proxy(kEth0, "2001:db8:0:1::1:8"));
  CHECK(h.agent->counters().resyncs == resyncs + 1);
  // Another within the second: counted and reconciled, but no second re-read.
  h.kernel.set_neighbour(kVc1, "2001:db8:0:1::1:9", kNudReachable);
  h.kernel.malformed_next_drain = "RTM_NEWLINK: malformed message";
  batch.clear();
  h.agent->on_drained(batch, h.kernel.drain(batch), h.now, "RTM_NEWLINK: malformed message");
  CHECK(h.agent->counters().malformed == 2);
  CHECK(h.agent->counters().resyncs == resyncs + 1);
  CHECK(h.kernel.has_proxy(kEth0, "2001:db8:0:1::1:9"));
  h.now += 2s;
  h.kernel.malformed_next_drain = "RTM_NEWLINK: malformed message";
  batch.clear();
  h.agent->on_drained(batch, h.kernel.drain(batch), h.now, "RTM_NEWLINK: malformed message");
  CHECK(h.agent->counters().resyncs == resyncs + 2);
}

TEST_CASE("agent: the status text is the status document, built one entry at a time") {
  Harness h;
  h.kernel.set_neighbour(kBr0, "2001:db8:0:1::2:9", kNudStale);  // verifying: a key more
  h.pump();
  const auto text = h.agent->status_text(h.now);
  const auto parsed = nlohmann::json::parse(text);
  CHECK(parsed == h.agent->status(h.now));
  CHECK(parsed["entries"].size() == 6);
  CHECK(text.find('\n') == std::string::npos);  // one line; the server adds the newline
}

TEST_CASE("agent uplink_probe: a first claim waits for the uplink; a node that answers keeps it") {
  Config config;
  config.uplink_probe = 1000ms;
  Harness h(config);
  const auto at_start = h.agent->counters().uplink_probes;  // the lab's own five, first claims too
  CHECK(at_start == 5);
  // Two containers appear. ::2:20 is free; ::2:21 is used by another node on the provider link.
  h.kernel.set_neighbour(kBr0, "2001:db8:0:1::2:20", kNudReachable);
  h.kernel.set_neighbour(kBr0, "2001:db8:0:1::2:21", kNudReachable);
  h.pump();
  const auto asked = [&](std::string_view address) {
    return std::any_of(h.kernel.probes.begin(), h.kernel.probes.end(),
                       [&](const auto& p) { return p.first == kEth0 && p.second == ip(address); });
  };
  CHECK(asked("2001:db8:0:1::2:20"));
  CHECK(asked("2001:db8:0:1::2:21"));
  CHECK_FALSE(h.kernel.has_proxy(kEth0, "2001:db8:0:1::2:20"));  // not before the wait ends
  CHECK(h.agent->counters().uplink_probes == at_start + 2);
  REQUIRE(h.agent->next_wakeup().has_value());
  // The other node answers the solicitation.
  h.kernel.set_neighbour(kEth0, "2001:db8:0:1::2:21", kNudReachable, false, "02:00:00:00:00:77");
  h.advance(500ms);
  CHECK_FALSE(h.kernel.has_proxy(kEth0, "2001:db8:0:1::2:20"));
  h.advance(600ms);
  CHECK(h.kernel.has_proxy(kEth0, "2001:db8:0:1::2:20"));
  CHECK_FALSE(h.kernel.has_proxy(kEth0, "2001:db8:0:1::2:21"));
  CHECK(h.agent->decision().skipped.contains(
      {ip("2001:db8:0:1::2:21"), kBr0, SkipReason::kUplinkNeighbour}));
  // Claimed once: a purge (uplink down/up) re-adds it at once, with no new probe.
  h.kernel.probes.clear();
  h.kernel.set_link_up(kEth0, false);
  h.kernel.set_link_up(kEth0, true);
  h.pump();
  CHECK(h.kernel.has_proxy(kEth0, "2001:db8:0:1::2:20"));
  CHECK_FALSE(asked("2001:db8:0:1::2:20"));
  // Nothing pending: no wakeups.
  CHECK_FALSE(h.agent->next_wakeup().has_value());
}

TEST_CASE("agent: remove_on_exit removes an entry whose delete was backing off") {
  Harness h;
  REQUIRE(h.kernel.has_proxy(kEth0, "2001:db8:0:1::1:1"));
  h.kernel.fail_address(FakeKernel::Call::kDelete, "2001:db8:0:1::1:1", EBUSY);
  h.kernel.remove_address(kVc1, "2001:db8:0:1::1:1");
  h.pump();
  REQUIRE(h.kernel.has_proxy(kEth0, "2001:db8:0:1::1:1"));
  h.kernel.clear_faults();
  h.agent->remove_owned(h.now);
  CHECK_FALSE(h.kernel.has_proxy(kEth0, "2001:db8:0:1::1:1"));
  CHECK(h.kernel.proxies().size() == 0);
}

TEST_CASE("agent uplink_probe: a lost entry whose re-add failed once is not gated again") {
  Config config;
  config.uplink_probe = 1000ms;
  Harness h(config);
  h.advance(1100ms);
  REQUIRE(h.kernel.has_proxy(kEth0, "2001:db8:0:1::2:3"));
  h.kernel.erase_proxy(kEth0, "2001:db8:0:1::2:3");
  h.kernel.fail_address(FakeKernel::Call::kAdd, "2001:db8:0:1::2:3", ENOBUFS);
  h.agent->resync(h.now, ResyncReason::kPeriodic);
  REQUIRE_FALSE(h.kernel.has_proxy(kEth0, "2001:db8:0:1::2:3"));
  h.kernel.clear_faults();
  h.kernel.probes.clear();
  h.advance(1100ms);
  CHECK_FALSE(std::any_of(h.kernel.probes.begin(), h.kernel.probes.end(), [&](const auto& p) {
    return p.first == kEth0 && p.second == ip("2001:db8:0:1::2:3");
  }));
  CHECK(h.kernel.has_proxy(kEth0, "2001:db8:0:1::2:3"));
}

TEST_CASE(
    "agent uplink_probe: a due retry waiting at the gate does not wake the loop in the past") {
  Config config;
  config.uplink_probe = 1000ms;
  Harness h(config);
  // A first claim whose add fails once.
  h.kernel.fail_address(FakeKernel::Call::kAdd, "2001:db8:0:1::2:20", ENOBUFS);
  h.kernel.set_neighbour(kBr0, "2001:db8:0:1::2:20", kNudReachable);
  h.pump();
  h.advance(1100ms);  // gate cleared, add fails, retry in 1 s
  h.kernel.clear_faults();
  h.advance(1000ms);  // retry due: gate again (since 0), no write
  REQUIRE_FALSE(h.kernel.has_proxy(kEth0, "2001:db8:0:1::2:20"));
  const auto next = h.agent->next_wakeup();
  REQUIRE(next.has_value());
  CHECK(*next > h.now);  // else the loop spins until the gate opens
}

namespace {

// A harness with DAD probes: what the loop does when the packet socket turns readable.
struct DadHarness : Harness {
  FakeDadProbes dad;
  using Harness::Harness;
  void probe(IfIndex ifindex, std::string_view target) {
    dad.inject(ifindex, ip(target));
    std::vector<DadProbe> batch;
    dad.drain(batch);
    agent->on_dad_probes(batch, now);
  }
  std::size_t probes_of(std::string_view address) const {
    return static_cast<std::size_t>(
        std::count_if(kernel.probes.begin(), kernel.probes.end(),
                      [&](const auto& p) { return p.second == ip(address); }));
  }
};

}  // namespace

TEST_CASE("agent dad: a DAD probe is followed by a probe once the DAD time is over") {
  DadHarness h;
  h.probe(kBr0, "2001:db8:0:1::2:30");
  CHECK(h.agent->counters().dad_probes_seen == 1);
  CHECK(h.agent->counters().dad_probes_followed == 1);
  CHECK_FALSE(h.probed("2001:db8:0:1::2:30"));  // tentative: its node would not answer yet
  REQUIRE(h.agent->next_wakeup().has_value());
  CHECK(*h.agent->next_wakeup() == h.now + 1050ms);
  h.advance(1000ms);
  CHECK_FALSE(h.probed("2001:db8:0:1::2:30"));
  h.advance(50ms);
  REQUIRE(h.probes_of("2001:db8:0:1::2:30") == 1);
  CHECK(h.kernel.probes.back().first == kBr0);
  CHECK_FALSE(h.kernel.has_proxy(kEth0, "2001:db8:0:1::2:30"));  // a probe is no claim
  // The node answers: a neighbour, proxied like any other.
  h.kernel.set_neighbour(kBr0, "2001:db8:0:1::2:30", kNudReachable);
  h.pump();
  CHECK(h.kernel.has_proxy(kEth0, "2001:db8:0:1::2:30"));
  // Nothing left to do: no idle wakeups.
  CHECK_FALSE(h.agent->next_wakeup().has_value());
}

TEST_CASE("agent dad: repeats while pending are ignored; the total is capped") {
  DadHarness h;
  h.probe(kBr0, "2001:db8:0:1::2:30");
  h.probe(kBr0, "2001:db8:0:1::2:30");
  h.probe(kVc1, "2001:db8:0:1::2:30");  // the same address elsewhere: still one follow-up
  CHECK(h.agent->counters().dad_probes_followed == 1);
  CHECK(h.agent->counters().dad_probes_ignored == 2);
  for (std::size_t i = 1; i < kMaxDadFollowUps + 10; ++i) {
    h.probe(kBr0, "2001:db8:0:1::3:" + std::to_string(i));
  }
  const auto& c = h.agent->counters();
  CHECK(c.dad_probes_followed == kMaxDadFollowUps);
  CHECK(c.dad_probes_seen == c.dad_probes_followed + c.dad_probes_ignored);
  h.advance(1050ms);
  CHECK(h.kernel.probes.size() <= 128);  // paced like every probe: bursts of 128
  h.advance(100ms);
  h.advance(100ms);
  CHECK(h.kernel.probes.size() == kMaxDadFollowUps);
  // Once followed, the address may be followed again (a container restarted).
  h.probe(kBr0, "2001:db8:0:1::2:30");
  CHECK(h.agent->counters().dad_probes_followed == kMaxDadFollowUps + 1);
}

TEST_CASE("agent dad: probes for addresses the guards refuse gain nothing") {
  Config config;
  config.deny = {prefix("2001:db8:0:1::2:f0/124")};
  config.interface_prefixes["vc1"] = {prefix("2001:db8:0:1::1:0/112")};
  DadHarness h(config);
  // The uplink's router: a gateway. (Another node the uplink's table knows refuses only an
  // unverified holder, and a DAD probe's follow-up is what verifies one: test_hostile.cpp.)
  h.kernel.add_route("::/0", kEth0, "2001:db8:0:1::a");
  h.kernel.set_neighbour(kEth0, "2001:db8:0:1::a", kNudReachable, /*router=*/true,
                         "02:00:00:00:00:0a");
  h.pump();
  const struct {
    const char* description;
    IfIndex ifindex;
    const char* target;
  } refused[] = {
      {"the router", kBr0, "2001:db8:0:1::a"},
      {"the host's own uplink address", kBr0, "2001:db8:0:1:0:ff:fe00:2"},
      {"another container's address", kBr0, "2001:db8:0:1::1:2"},
      {"the bridge's own address", kBr0, "2001:db8:0:1::2:1"},
      {"denied", kBr0, "2001:db8:0:1::2:f1"},
      {"outside the prefixes", kBr0, "2001:db8:0:2::1"},
      {"outside the interface's prefixes", kVc1, "2001:db8:0:1::2:40"},
      {"an uplink (not downstream)", kEth0, "2001:db8:0:1::5:1"},
      {"a bridge port (its bridge sees it)", kVb2, "2001:db8:0:1::5:2"},
  };
  const auto seen = h.agent->counters().dad_probes_seen;
  std::uint64_t counted = 0;
  for (const auto& r : refused) {
    INFO(r.description);
    h.probe(r.ifindex, r.target);
    if (r.ifindex == kBr0 || r.ifindex == kVc1) ++counted;
  }
  CHECK(h.agent->counters().dad_probes_seen == seen + counted);
  CHECK(h.agent->counters().dad_probes_followed == 0);
  CHECK(h.agent->counters().dad_probes_ignored == counted);
  CHECK_FALSE(h.agent->next_wakeup().has_value());
  h.advance(2000ms);
  CHECK(h.kernel.probes.empty());
}

TEST_CASE("agent dad: a full cap refuses the follow-up; dad_snooping false ignores probes") {
  Config capped;
  capped.max_entries = 5;  // the lab's five
  DadHarness h(capped);
  h.probe(kBr0, "2001:db8:0:1::2:30");
  CHECK(h.agent->counters().dad_probes_ignored == 1);
  Config off;
  off.dad_snooping = false;
  DadHarness o(off);
  o.probe(kBr0, "2001:db8:0:1::2:30");
  CHECK(o.agent->counters().dad_probes_seen == 0);
  CHECK_FALSE(o.agent->next_wakeup().has_value());
}

TEST_CASE("agent: a tenant flooding br0 from one MAC is refused as cap-mac, and said so") {
  Config config;
  config.max_entries_per_interface = 40;
  config.max_entries_per_mac = 10;
  Harness h(config);
  for (int i = 0; i < 100; ++i) {
    h.kernel.set_neighbour(kBr0, "2001:db8:0:1::2:" + std::to_string(1000 + i), kNudReachable,
                           false, "02:00:5e:00:53:02");
  }
  h.pump();
  h.kernel.set_neighbour(kBr0, "2001:db8:0:1::2:9", kNudReachable, false, "02:00:5e:00:53:03");
  h.pump();
  CHECK(h.kernel.has_proxy(kEth0, "2001:db8:0:1::2:9"));  // the other tenant's new address
  const auto s = h.agent->status(h.now);
  CHECK(s["counters"]["capped"] == 90);
  CHECK(s["counters"]["capped_mac"] == 90);
  REQUIRE(s["capped_macs"].size() == 1);
  CHECK(s["capped_macs"][0] ==
        nlohmann::json{
            {"interface", "br0"}, {"mac", "02:00:5e:00:53:02"}, {"admitted", 10}, {"refused", 90}});
  std::size_t cap_mac = 0;
  for (const auto& skipped : s["skipped"]) cap_mac += skipped["reason"] == "cap-mac" ? 1 : 0;
  CHECK(cap_mac == 90);
}
