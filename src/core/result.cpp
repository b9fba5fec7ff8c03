#include "ndpsync/result.hpp"

#include <cerrno>
#include <cstring>

namespace ndpsync {

std::string errno_name(int error) {
  const char* name = strerrorname_np(error);
  return std::string(name != nullptr ? name : "E?") + " (" + std::strerror(error) + ")";
}

Status errno_status(std::string_view who, std::string_view what) {
  const int error = errno;
  std::string message(who);
  message.append(": ").append(what).append(": ").append(errno_name(error));
  return {.error = error, .message = std::move(message)};
}

}  // namespace ndpsync
