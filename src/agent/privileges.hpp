#pragma once

#include "ndpsync/kernel_port.hpp"

namespace ndpsync {

// Keeps CAP_NET_ADMIN (netlink writes and net sysctls) and drops every other capability, from
// the bounding set too, and sets no_new_privs. Called once the status socket exists, when started
// as root (the systemd unit starts it as an unprivileged user with CAP_NET_ADMIN alone). The
// root-owned /proc/sys/net files stay writable through CAP_NET_ADMIN (the kernel's
// net_ctl_permissions); uid 0 keeps its config and /run/ndpsync readable.
Status drop_capabilities();

}  // namespace ndpsync
