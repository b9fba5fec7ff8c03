// The agent's start, once its status socket listens: the first full read of the kernel decides
// whether the agent is ready. Kept apart from the Asio loop so that unit tests can drive it with
// the fake kernel.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "ndpsync/agent.hpp"

namespace ndpsync {

struct StartSteps {
  // After a successful first read, before READY=1: drop privileges, log the start.
  std::function<void()> ready;
  // Sends a state to the service manager ("READY=1").
  std::function<void(const std::string&)> notify;
};

// Reads everything once (a start resync). Success: runs steps.ready, sends READY=1 and returns
// nullopt (run on). Failure: logs why, sends no READY=1 and returns 1, the exit code; systemd
// then restarts the agent. Nothing was written to the kernel then: resync() writes only after
// a successful dump.
std::optional<int> start_agent(AgentCore& core, SteadyTime now, const StartSteps& steps);

}  // namespace ndpsync
