// The provider's link is hostile (docs/security.md): what anyone there can make the host's kernel
// believe (an NS plants a STALE entry for its source, an NA with R=1 sets the router flag) never
// takes a live container's address, and a container cannot use the host's override advert to
// take an address that another node on the uplink answers for.
#include <algorithm>

#include "agent_harness.hpp"
#include "catch2_compat.hpp"

using namespace ndpsync;
using namespace ndpsync::testing;
using namespace std::chrono_literals;

namespace {

constexpr auto kAttacker = "02:00:00:00:00:66";
constexpr auto kOtherHost = "02:00:00:00:00:77";

struct HostileHarness : AgentHarness {
  explicit HostileHarness(Config config = {})
      : AgentHarness(with_long_liveness(std::move(config)),
                     [](AgentHarness& h) { h.agent->set_advert_port(&h.adverts); }) {}
  [[nodiscard]] std::size_t probes_of(IfIndex on, std::string_view address) {
    const auto n =
        std::count(kernel.probes.begin(), kernel.probes.end(), std::pair(on, ip(address)));
    return static_cast<std::size_t>(n);
  }
  [[nodiscard]] std::size_t overrides_of(std::string_view address) const {
    return static_cast<std::size_t>(std::count_if(
        adverts.sent.begin(), adverts.sent.end(),
        [&](const Advert& a) { return a.target == ip(address) && a.override && !a.solicited; }));
  }
  [[nodiscard]] bool skipped(std::string_view address, SkipReason reason) const {
    return agent->decision().skipped.contains({ip(address), kBr0, reason});
  }
};

}  // namespace

TEST_CASE("hostile link: forged NS and router-flag NA never take a live container's address") {
  HostileHarness h;
  const auto c3 = "2001:db8:0:1::2:3";
  REQUIRE(h.kernel.has_proxy(kEth0, c3));
  const auto full = h.agent->counters().full_reconciles;
  // A forged NS with c3's address as its source: the kernel plants a STALE entry at the sender's
  // MAC. The entry stays, judged alone.
  h.kernel.set_neighbour(kEth0, c3, kNudStale, false, kAttacker);
  h.pump();
  CHECK(h.kernel.has_proxy(kEth0, c3));
  // The attacker answers the host's checks: still the container's.
  h.kernel.set_neighbour(kEth0, c3, kNudReachable, false, kAttacker);
  h.pump();
  CHECK(h.kernel.has_proxy(kEth0, c3));
  // A forged NA with R=1: the router flag is a claim too; only gateways are routers.
  h.kernel.set_neighbour(kEth0, c3, kNudReachable, true, kAttacker);
  h.pump();
  CHECK(h.kernel.has_proxy(kEth0, c3));
  CHECK(h.agent->counters().full_reconciles == full);
  // The holder is verified where the attacker cannot answer: downstream. Idle (STALE), it is
  // probed on br0 and keeps its entry while it is verified.
  h.kernel.probes.clear();
  h.kernel.set_neighbour(kBr0, c3, kNudStale);
  h.pump();
  CHECK(h.probes_of(kBr0, c3) == 1);
  CHECK(h.probes_of(kEth0, c3) == 0);
  h.advance(1s);
  CHECK(h.kernel.has_proxy(kEth0, c3));
  h.kernel.set_neighbour(kBr0, c3, kNudReachable);  // it answers
  h.pump();
  for (int i = 0; i < 40; ++i) h.advance(1s);  // past the liveness timeout
  CHECK(h.kernel.has_proxy(kEth0, c3));
  // A container that really left is still withdrawn, by liveness, whatever the uplink says.
  h.kernel.set_neighbour(kBr0, c3, kNudFailed);
  h.pump();
  for (int i = 0; i < 40; ++i) h.advance(1s);
  CHECK_FALSE(h.kernel.has_proxy(kEth0, c3));
}

TEST_CASE("hostile link: an uplink claim refuses only a new, unverified holder; gateways always") {
  HostileHarness h;
  const auto fresh = "2001:db8:0:1::2:30";
  // Another node on the uplink uses the address, and a container on br0 shows it only STALE (the
  // host learned it from a packet): refused, and the holder is asked downstream.
  h.kernel.set_neighbour(kEth0, fresh, kNudReachable, false, kOtherHost);
  h.kernel.set_neighbour(kBr0, fresh, kNudStale);
  h.pump();
  CHECK_FALSE(h.kernel.has_proxy(kEth0, fresh));
  CHECK(h.skipped(fresh, SkipReason::kUplinkNeighbour));
  CHECK(h.probes_of(kBr0, fresh) == 1);
  // It answers: verified, claimed. No override advert while the other node answers.
  h.kernel.set_neighbour(kBr0, fresh, kNudReachable);
  h.pump();
  CHECK(h.kernel.has_proxy(kEth0, fresh));
  // A gateway of the uplinks is never claimed, verified or not.
  const auto gateway = "2001:db8:0:1::fe";
  h.kernel.add_route("::/0", kEth0, gateway);
  h.kernel.set_neighbour(kBr0, gateway, kNudReachable);
  h.pump();
  CHECK_FALSE(h.kernel.has_proxy(kEth0, gateway));
  CHECK(h.skipped(gateway, SkipReason::kUplinkRouter));
}

TEST_CASE("hostile link: a first claim's override advert waits until nobody else answers") {
  HostileHarness h;
  CHECK(h.adverts.sent.empty());  // the start's claims are not news
  // A free address: the uplink is asked, nobody answers within the window, the advert goes out.
  const auto free_address = "2001:db8:0:1::2:60";
  h.kernel.set_neighbour(kBr0, free_address, kNudReachable);
  h.pump();
  REQUIRE(h.kernel.has_proxy(kEth0, free_address));
  CHECK(h.adverts.sent.empty());
  h.advance(10ms);
  CHECK(h.probes_of(kEth0, free_address) == 1);
  h.advance(1s);
  CHECK(h.overrides_of(free_address) == 1);
  CHECK(h.agent->counters().adverts_unsolicited == 1);

  // A container fakes an address another node on the uplink answers for: the entry goes in (its
  // holder is live), but the host does not override the routers' entries for it.
  const auto taken = "2001:db8:0:1::2:61";
  h.kernel.set_neighbour(kBr0, taken, kNudReachable);
  h.pump();
  h.advance(10ms);
  REQUIRE(h.probes_of(kEth0, taken) == 1);
  // It answers every time it is asked (each ask deletes the entry and solicits afresh).
  for (int i = 0; i < 29; ++i) {
    h.kernel.set_neighbour(kEth0, taken, kNudReachable, false, kOtherHost);
    h.pump();
    h.advance(1s);
  }
  CHECK(h.overrides_of(taken) == 0);
  CHECK(h.probes_of(kEth0, taken) >= 10);  // asked again, once a second
  h.kernel.set_neighbour(kEth0, taken, kNudReachable, false, kOtherHost);
  h.pump();
  h.advance(2s);
  CHECK(h.overrides_of(taken) == 0);
  CHECK(h.agent->counters().adverts_withheld == 1);
  h.advance(5s);
  CHECK(h.overrides_of(taken) == 0);
  const auto next = h.agent->next_wakeup();
  CHECK_FALSE((next.has_value() && *next < h.now + 1s));  // nothing left to ask

  // A container moved here from another host, which still answers until its liveness notices:
  // the advert follows once the answers stop.
  const auto moved = "2001:db8:0:1::2:62";
  h.kernel.set_neighbour(kBr0, moved, kNudReachable);
  h.pump();
  h.advance(10ms);
  h.kernel.set_neighbour(kEth0, moved, kNudReachable, true, kOtherHost);  // a proxy's answer
  h.pump();
  h.advance(1s);  // answered: asked again, afresh
  CHECK(h.overrides_of(moved) == 0);
  CHECK_FALSE(h.agent->observed().neighbour({kEth0, ip(moved)}));
  h.kernel.set_neighbour(kEth0, moved, kNudReachable, true, kOtherHost);  // still there
  h.pump();
  h.advance(1s);
  CHECK(h.overrides_of(moved) == 0);
  h.advance(1s);  // its liveness noticed: no answer any more
  CHECK(h.overrides_of(moved) == 1);
}
