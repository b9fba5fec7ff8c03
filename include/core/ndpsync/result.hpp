// Errno-style results: what every call across the kernel seam returns. Nothing there throws.
#pragma once

#include <string>
#include <string_view>

namespace ndpsync {

// 0 on success, otherwise a positive errno value.
struct Status {
  int error = 0;
  std::string message;  // empty on success

  [[nodiscard]] bool ok() const { return error == 0; }
  static Status success() { return {}; }
};

template <typename T>
struct Result {
  Status status;
  T value{};

  [[nodiscard]] bool ok() const { return status.ok(); }
};

// "ENOENT (No such file or directory)": the symbolic name first, for logs and status.
std::string errno_name(int error);

// The Status of a system call that just failed: its errno, read before anything else runs, and
// "WHO: WHAT: " before errno_name().
Status errno_status(std::string_view who, std::string_view what);

}  // namespace ndpsync

namespace ndpsync {

// A kernel operation that failed, for reports and logs.
struct Failure {
  std::string operation;  // "add", "delete", "sysctl", "dump", "uplink"
  std::string target;
  Status status;
};

}  // namespace ndpsync
