// The agent's side of the packet listeners: the kernel-side filters follow the decision (the
// interfaces each listens on, the targets the kernel answers), set once per change, never per
// packet; and the netlink overrun re-reads are rate-limited.
#include "catch2_compat.hpp"

#include "agent_harness.hpp"
#include "ndpsync/packet_budget.hpp"

using namespace ndpsync;
using namespace ndpsync::testing;
using namespace std::chrono_literals;

namespace {

struct Sockets {
  FakeDadProbes dad;
  FakeSolicitations solicitations;
};

Config listening() {
  Config config;
  config.on_demand = true;
  config.dad_snooping = true;
  return config;
}

std::vector<Ipv6Address> proxied_on(const FakeKernel& kernel, IfIndex uplink) {
  std::vector<Ipv6Address> out;
  for (const auto& entry : kernel.proxies()) {
    if (entry.ifindex == uplink) out.push_back(entry.address);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("agent packets: the filters follow the uplinks, the downstream and the proxied targets") {
  Sockets sockets;
  AgentHarness h(listening(), [&](AgentHarness& a) {
    a.agent->set_packet_sockets(&sockets.dad, &sockets.solicitations);
  });
  REQUIRE_FALSE(sockets.solicitations.filters.empty());
  const auto& filter = sockets.solicitations.filters.back();
  CHECK(filter.interfaces == std::vector<IfIndex>{kEth0});
  CHECK(filter.answered == proxied_on(h.kernel, kEth0));
  CHECK(filter.answered.size() >= 5);
  REQUIRE_FALSE(sockets.dad.filters.empty());
  CHECK(sockets.dad.filters.back().interfaces == h.agent->decision().downstream);
  CHECK(sockets.dad.filters.back().answered.empty());

  // Nothing changed: no filter is set again.
  const auto set = sockets.solicitations.filters.size();
  h.advance(1s);
  h.pump();
  CHECK(sockets.solicitations.filters.size() == set);

  // A new container's entry: its solicitations are the kernel's to answer from now on.
  h.kernel.set_neighbour(kBr0, "2001:db8:0:1::2:9", kNudReachable);
  h.pump();
  REQUIRE(h.kernel.has_proxy(kEth0, "2001:db8:0:1::2:9"));
  CHECK(sockets.solicitations.filters.size() == set + 1);
  CHECK(sockets.solicitations.filters.back().answered == proxied_on(h.kernel, kEth0));
  CHECK(h.agent->counters().packet_filter_updates >= 3);
  CHECK(h.agent->status(h.now)["counters"].contains("packet_targets_unfiltered"));
}

TEST_CASE("agent packets: without on_demand or dad_snooping, their sockets are left alone") {
  Sockets sockets;
  Config off;
  off.on_demand = false;
  off.dad_snooping = false;
  AgentHarness h(off, [&](AgentHarness& a) {
    a.agent->set_packet_sockets(&sockets.dad, &sockets.solicitations);
  });
  CHECK(sockets.dad.filters.empty());
  CHECK(sockets.solicitations.filters.empty());
}

TEST_CASE("agent packets: a pause is counted") {
  AgentHarness h;
  h.agent->note_packet_pause(17);
  h.agent->note_packet_pause(0);
  CHECK(h.agent->counters().packet_pauses == 2);
  CHECK(h.agent->counters().packet_discarded == 17);
}

TEST_CASE("agent: overruns re-read at most once a second; the ones between share a deferred one") {
  AgentHarness h;
  const auto resyncs = h.agent->counters().resyncs;
  h.agent->on_drained({}, EventSource::Drain::kOverrun, h.now);
  CHECK(h.agent->counters().resyncs == resyncs + 1);
  for (int i = 0; i < 10; ++i) {
    h.now += 50ms;
    h.agent->on_drained({}, EventSource::Drain::kOverrun, h.now);
  }
  CHECK(h.agent->counters().resyncs == resyncs + 1);
  // Lost meanwhile: the deferred re-read finds it.
  h.kernel.set_neighbour(kBr0, "2001:db8:0:1::2:9", kNudReachable);
  h.kernel.drop_events();
  const auto due = h.agent->next_wakeup();
  REQUIRE(due.has_value());
  CHECK(*due <= h.now + 1s);
  h.now = *due;
  h.agent->tick(h.now);
  CHECK(h.agent->counters().resyncs == resyncs + 2);
  CHECK(h.kernel.has_proxy(kEth0, "2001:db8:0:1::2:9"));
}

TEST_CASE("packet budget: a window's budget, then a pause to the window's end") {
  PacketBudget budget(100, 100ms);
  const PacketBudget::Time t0{};
  auto spent = budget.spend(64, t0);
  CHECK(spent.allowed == 64);
  CHECK_FALSE(spent.pause.has_value());
  spent = budget.spend(64, t0 + 10ms);
  CHECK(spent.allowed == 36);  // the rest of the batch is not judged
  REQUIRE(spent.pause.has_value());
  CHECK(*spent.pause == t0 + 100ms);
  // A new window: a full budget again.
  spent = budget.spend(10, t0 + 100ms);
  CHECK(spent.allowed == 10);
  CHECK_FALSE(spent.pause.has_value());
  spent = budget.spend(90, t0 + 150ms);
  CHECK(spent.allowed == 90);
  CHECK(spent.pause == t0 + 200ms);
}
