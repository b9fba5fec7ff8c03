// `ndpsync run`: one thread, one io_context. See docs/design.md for the loop's shape.
#pragma once

#include <functional>
#include <optional>

#include "ndpsync/config.hpp"

namespace ndpsync {

// Re-reads the config on SIGHUP; returns nullopt (after logging why) when it is bad, and then
// the old config stays.
using ConfigReloader = std::function<std::optional<Config>()>;

// Runs until SIGTERM or SIGINT. Returns the process exit code.
int run_agent(const Config& config, const ConfigReloader& reload);

}  // namespace ndpsync
