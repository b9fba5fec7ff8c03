// libFuzzer target: arbitrary bytes as a buffer of netlink messages, through the same framing,
// parsing and state updates the agent applies to what the kernel sends.
#include <linux/netlink.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "ndpsync/netlink.hpp"
#include "ndpsync/observed_state.hpp"
#include "ndpsync/policy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Socket buffers are 4-byte aligned; so is this copy.
  std::vector<std::uint32_t> aligned((size + 3) / 4);
  if (size > 0) std::memcpy(aligned.data(), data, size);
  const std::span bytes(reinterpret_cast<const std::byte*>(aligned.data()), size);
  ndpsync::ObservedState state;
  ndpsync::for_each_message(bytes, [&state](const nlmsghdr* header) {
    auto parsed = ndpsync::parse_message(header);
    if (parsed.event) state.apply(*parsed.event);
  });
  (void)ndpsync::decide(ndpsync::Config{}, state);
  return 0;
}
