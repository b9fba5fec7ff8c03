// Errno-style results: what every call across the kernel seam returns. Nothing there throws.
#pragma once

#include <string>

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

}  // namespace ndpsync

namespace ndpsync {

// A kernel operation that failed, for reports and logs.
struct Failure {
  std::string operation;  // "add", "delete", "sysctl", "dump", "uplink"
  std::string target;
  Status status;
};

}  // namespace ndpsync
