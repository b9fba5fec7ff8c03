#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "ndpsync/config.hpp"
#include "ndpsync/kernel_port.hpp"

namespace ndpsync {

// The user a root-started agent becomes (config key run_as).
struct RunAs {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
};

// Looks the user up. ENOENT when there is none (check-config refuses that first).
Result<RunAs> find_run_as(const std::string& name);

// The highest capability number of the running kernel, from /proc/sys/kernel/cap_last_cap: a
// kernel newer than the headers knows capabilities the headers do not, and they must go too.
// The headers' CAP_LAST_CAP only when the file cannot be read.
int last_capability();

// What drop_privileges() could not drop, for the log: empty when it dropped everything.
struct DropOutcome {
  std::string kept;
};

// For an agent started as root, once its sockets are open and before it reads the kernel: keeps
// CAP_NET_ADMIN (netlink writes and net sysctls) and nothing else, switches to `user` (unless it
// is uid 0), and sets no_new_privs, in the same way as the systemd unit (User=,
// CapabilityBoundingSet=, NoNewPrivileges=). The root-owned /proc/sys/net files stay writable
// through CAP_NET_ADMIN (the kernel's net_ctl_permissions).
// The bounding set needs CAP_SETPCAP, which a container may lack: then the bounding set stays,
// everything else is still dropped, and the outcome says what was kept. Failing to switch the
// user, or to drop the effective and permitted sets, is an error: the agent must not run on as
// root with everything.
Result<DropOutcome> drop_privileges(const RunAs& user);

// Drops CAP_NET_RAW from the effective, permitted, inheritable and ambient sets: it is needed
// only to open the packet sockets, which keep working without it. Needs no capability itself,
// so it works for the systemd unit's unprivileged user too.
Status drop_net_raw();

class StatusServer;

// Started as root (by hand, or in a container), the agent becomes config.run_as once its status
// socket listens and before it reads the kernel: everything after (the first read, the sysctls,
// reloads, the metrics file) runs as that user with CAP_NET_ADMIN alone. Started unprivileged
// (the systemd unit), there is nothing to drop. False: logged; the agent exits with 1.
bool listen_and_drop_privileges(StatusServer& status_server, const Config& config);

}  // namespace ndpsync
