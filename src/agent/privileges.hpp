#pragma once

#include "ndpsync/kernel_port.hpp"

namespace ndpsync {

// Keeps CAP_NET_ADMIN (netlink writes and net sysctls) and drops every other capability, from
// the bounding set too, and sets no_new_privs. Called once the status socket exists, when started
// as root (the systemd unit starts it as an unprivileged user with CAP_NET_ADMIN alone). The
// root-owned /proc/sys/net files stay writable through CAP_NET_ADMIN (the kernel's
// net_ctl_permissions); uid 0 keeps its config and /run/ndpsync readable.
Status drop_capabilities();

// Drops CAP_NET_RAW from the effective, permitted, inheritable and ambient sets: it is needed
// only to open the DAD listener's packet socket, which keeps working without it. Needs no
// capability itself, so it works for the systemd unit's unprivileged user too.
Status drop_net_raw();

}  // namespace ndpsync
