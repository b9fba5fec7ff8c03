#pragma once

#include "ndpsync/kernel_port.hpp"

namespace ndpsync {

// Keeps CAP_NET_ADMIN (netlink writes and net sysctls) and drops every other capability, from
// the bounding set too, and sets no_new_privs. Called once the status socket exists. The process
// stays uid 0, so the root-owned files it still needs (/proc/sys/net, its config, /run/ndpsync)
// remain writable or readable without CAP_DAC_OVERRIDE.
Status drop_capabilities();

}  // namespace ndpsync
