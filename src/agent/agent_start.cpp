#include "ndpsync/agent_start.hpp"

#include <spdlog/spdlog.h>

namespace ndpsync {

std::optional<int> start_agent(AgentCore& core, SteadyTime now, const StartSteps& steps) {
  if (const auto status = core.resync(now, ResyncReason::kStart); !status.ok()) {
    spdlog::error("cannot read the kernel's state at start: {}; exiting with 1 (not ready)",
                  status.message);
    return 1;
  }
  if (steps.ready) steps.ready();
  if (steps.notify) steps.notify("READY=1");
  return std::nullopt;
}

}  // namespace ndpsync
