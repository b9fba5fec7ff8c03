// `ndpsync status`: the client side of the agent's status socket.
#pragma once

#include <string>

#include "ndpsync/result.hpp"

namespace ndpsync::cli {

// Connects to the agent on `socket_path` and reads its one document to the end (5 s timeout).
// The error names the socket when no agent answers.
Result<std::string> query_status(const std::string& socket_path);

}  // namespace ndpsync::cli
