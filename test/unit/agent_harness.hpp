// The agent on the fake kernel's lab, with a clock the test moves by hand: what test_agent,
// test_sources and test_discovery drive.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "lab.hpp"
#include "ndpsync/agent.hpp"

namespace ndpsync::testing {

// A 30 s liveness timeout: verdicts come only when a test moves the clock that far on.
inline Config with_long_liveness(Config config) {
  config.liveness_timeout = std::chrono::seconds(30);
  return config;
}

struct AgentHarness {
  FakeKernel kernel;
  FakeAdverts adverts;  // where adverts go, once a test attaches it (set_advert_port)
  SteadyTime now{};
  std::unique_ptr<AgentCore> agent;

  // The lab, then `before_start` (more kernel state, ports), then the agent's start. The lab's
  // STALE container is probed at start; it answers, as a live one does.
  explicit AgentHarness(Config config = {},
                        const std::function<void(AgentHarness&)>& before_start = {}) {
    build_lab(kernel);
    agent = std::make_unique<AgentCore>(config, kernel);
    if (before_start) before_start(*this);
    agent->resync(now, ResyncReason::kStart);
    kernel.set_neighbour(kBr0, "2001:db8:0:1::2:2", kNudReachable);
    pump();
    kernel.probes.clear();
  }
  // What the loop does when the socket turns readable: drain, apply, reconcile once.
  void pump() {
    std::vector<KernelEvent> batch;
    kernel.drain(batch);
    agent->on_events(batch, now);
    agent->reconcile(now);
  }
  void advance(std::chrono::milliseconds by) {
    now += by;
    agent->tick(now);
    pump();
  }
};

}  // namespace ndpsync::testing
