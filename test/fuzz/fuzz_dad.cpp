// libFuzzer target: arbitrary bytes as a packet from the DAD listener's socket (IPv6 header
// first). Whatever it returns must be a target the agent may judge.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "ndpsync/dad_listener.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto target = ndpsync::parse_dad_probe(std::span(data, size));
  if (target && (target->is_multicast() || target->is_link_local() || target->is_unspecified())) {
    std::abort();
  }
  return 0;
}
