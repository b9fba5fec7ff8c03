// The boundary of every handler of the agent's loop. An exception that leaves a handler leaves
// io_context::run() too and ends the agent, and with it every container's reachability: a name
// that is not UTF-8 did exactly that once (nlohmann's type_error 316). So each handler logs what
// it could not do and the loop runs on; the periodic resync repairs whatever was left half done.
#pragma once

#include <spdlog/spdlog.h>

#include <bit>
#include <cstdint>
#include <exception>

namespace ndpsync {

// Runs `work`; on an exception logs it and returns false. `failures` counts them: the first and
// then every power of two are logged, so a handler that fails for each of a flood of
// connections or packets cannot flood the log too.
template <typename Work>
bool guarded(const char* what, std::uint64_t& failures, Work&& work) noexcept {
  std::exception_ptr error;
  try {
    work();
    return true;
  } catch (...) {
    error = std::current_exception();
  }
  ++failures;
  if (!std::has_single_bit(failures)) return false;
  try {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      spdlog::error("{} failed: {}; carrying on ({} so far)", what, e.what(), failures);
    } catch (...) {
      spdlog::error("{} failed: an unknown exception; carrying on ({} so far)", what, failures);
    }
  } catch (...) {  // the log itself failed (no memory): nothing more to do here
  }
  return false;
}

}  // namespace ndpsync
