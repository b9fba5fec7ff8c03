#include <spdlog/spdlog.h>

#if NDPSYNC_CATCH2_MAJOR < 3
#define CATCH_CONFIG_RUNNER
#endif
#include "catch2_compat.hpp"

int main(int argc, char* argv[]) {
  // The agent logs every change at info; tests assert on state, not on log lines.
  spdlog::set_level(spdlog::level::off);
  return Catch::Session().run(argc, argv);
}
