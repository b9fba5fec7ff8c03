#define CATCH_CONFIG_RUNNER
#include <spdlog/spdlog.h>

#include <catch2/catch.hpp>

int main(int argc, char* argv[]) {
  // The agent logs every change at info; tests assert on state, not on log lines.
  spdlog::set_level(spdlog::level::off);
  return Catch::Session().run(argc, argv);
}
