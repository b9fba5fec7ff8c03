// The agent's status document (docs/status.md), for people. The document comes from another
// process, maybe of another version: a key that is missing or of another type is shown as "?"
// or left out, never trusted.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>

namespace ndpsync::cli {

void print_status(const nlohmann::json& status, std::ostream& out);

}  // namespace ndpsync::cli
