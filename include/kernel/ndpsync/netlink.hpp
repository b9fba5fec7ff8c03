// The libnl adapter: the only code that sees netlink messages.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "ndpsync/kernel_port.hpp"

struct nlmsghdr;

namespace ndpsync {

// One netlink message turned into a typed event. `event` is empty when the message is of no
// interest (another family, a cloned route, ...); `error` names what is wrong with a malformed one.
struct ParsedMessage {
  std::optional<KernelEvent> event;
  std::string error;
};
ParsedMessage parse_message(const nlmsghdr* header);

// Walks a buffer of netlink messages as received from a socket, calling `visit` for each whole
// message; returns an error when the buffer ends inside a message.
std::string for_each_message(std::span<const std::byte> buffer,
                             const std::function<void(const nlmsghdr*)>& visit);

struct NetlinkOptions {
  std::size_t event_rcvbuf = 8U << 20U;
};

// The kernel port, on a request socket of its own.
std::unique_ptr<KernelPort> make_netlink_kernel();

// The event socket, subscribed to link, IPv6 address, neighbour and IPv6 route groups. Create it
// before the first dump so that nothing that happens during the dump is lost.
Result<std::unique_ptr<EventSource>> make_netlink_events(const NetlinkOptions& options);

}  // namespace ndpsync
