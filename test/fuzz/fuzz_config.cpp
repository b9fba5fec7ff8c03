// libFuzzer target: arbitrary text as a config file. Anything but a Config or a ConfigError
// (a crash, a leak, another exception) is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ndpsync/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    (void)ndpsync::parse_config(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const ndpsync::ConfigError&) {
  }
  return 0;
}
