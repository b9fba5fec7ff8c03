#include "ndpsync/result.hpp"

#include <cstring>

namespace ndpsync {

std::string errno_name(int error) {
  const char* name = strerrorname_np(error);
  return std::string(name != nullptr ? name : "E?") + " (" + std::strerror(error) + ")";
}

}  // namespace ndpsync
