#include "privileges.hpp"

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <spdlog/spdlog.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

#include "ndpsync/result.hpp"
#include "status_server.hpp"

namespace ndpsync {
namespace {

Status errno_status(const std::string& what) {
  const int error = errno;
  return {.error = error, .message = what + ": " + errno_name(error)};
}

// Clears the bounding set but for CAP_NET_ADMIN. Returns false when the kernel refuses (EPERM:
// no CAP_SETPCAP, as in a container that was not given it).
bool drop_bounding_set() {
  for (int cap = 0; cap <= last_capability(); ++cap) {
    if (cap == CAP_NET_ADMIN) continue;
    if (cap_drop_bound(static_cast<cap_value_t>(cap)) < 0 && errno != EINVAL) return false;
  }
  return true;
}

Status switch_user(const RunAs& user) {
  // Keep the permitted set across setuid(); the effective set is cleared and raised again below.
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) return errno_status("keep capabilities");
  if (::initgroups(user.name.c_str(), user.gid) < 0) return errno_status("set groups");
  if (::setresgid(user.gid, user.gid, user.gid) < 0) return errno_status("set gid");
  if (::setresuid(user.uid, user.uid, user.uid) < 0) return errno_status("set uid");
  if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) return errno_status("keep capabilities");
  return {};
}

}  // namespace

Result<RunAs> find_run_as(const std::string& name) {
  const auto* entry = ::getpwnam(name.c_str());
  if (entry == nullptr) {
    return {.status = {.error = ENOENT, .message = "run_as: no user '" + name + "' on this host"},
            .value = {}};
  }
  return {.status = {}, .value = {.name = name, .uid = entry->pw_uid, .gid = entry->pw_gid}};
}

int last_capability() {
  std::ifstream file("/proc/sys/kernel/cap_last_cap");
  int last = -1;
  if (file >> last && last >= 0 && last < 64) return last;
  return CAP_LAST_CAP;
}

Result<DropOutcome> drop_privileges(const RunAs& user) {
  const auto fail = [](const std::string& what) {
    return Result<DropOutcome>{.status = errno_status(what), .value = {}};
  };
  DropOutcome outcome;
  // The bounding set first: dropping from it needs CAP_SETPCAP, which goes below.
  if (!drop_bounding_set()) {
    outcome.kept = "the bounding set (" + errno_name(errno) + ": no CAP_SETPCAP)";
  }
  if (user.uid != 0) {
    if (auto status = switch_user(user); !status.ok()) {
      return {.status = {.error = status.error,
                         .message = "cannot switch to user '" + user.name + "': " + status.message},
              .value = {}};
    }
  }
  cap_t caps = cap_init();  // all clear
  if (caps == nullptr) return fail("cap_init");
  const cap_value_t keep[] = {CAP_NET_ADMIN};
  const bool ok = cap_set_flag(caps, CAP_EFFECTIVE, 1, keep, CAP_SET) == 0 &&
                  cap_set_flag(caps, CAP_PERMITTED, 1, keep, CAP_SET) == 0 &&
                  cap_set_proc(caps) == 0;
  cap_free(caps);
  if (!ok) return fail("drop capabilities");
  // EINVAL: a kernel without ambient capabilities, which then has none to clear.
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) {
    return fail("clear ambient capabilities");
  }
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return fail("no_new_privs");
  return {.status = {}, .value = outcome};
}

Status drop_net_raw() {
  // Ambient first: the kernel refuses to keep an ambient capability that is not permitted, but
  // lowering it explicitly makes the order irrelevant. EINVAL: no ambient support.
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, CAP_NET_RAW, 0, 0) < 0 && errno != EINVAL) {
    return errno_status("lower ambient CAP_NET_RAW");
  }
  cap_t caps = cap_get_proc();
  if (caps == nullptr) return errno_status("cap_get_proc");
  const cap_value_t raw[] = {CAP_NET_RAW};
  const bool ok = cap_set_flag(caps, CAP_EFFECTIVE, 1, raw, CAP_CLEAR) == 0 &&
                  cap_set_flag(caps, CAP_PERMITTED, 1, raw, CAP_CLEAR) == 0 &&
                  cap_set_flag(caps, CAP_INHERITABLE, 1, raw, CAP_CLEAR) == 0 &&
                  cap_set_proc(caps) == 0;
  cap_free(caps);
  if (!ok) return errno_status("drop CAP_NET_RAW");
  return {};
}

// The sysctl record's directory (journal_file()) goes to the user the agent becomes, as systemd's
// StateDirectory= does for the unit's user: the agent replaces the file there (a new file renamed
// over it) before each first write, and would otherwise refuse every sysctl write.
void hand_over_state_dir(const Config& config, const RunAs& user) {
  const auto file = journal_file(config);
  if (file.empty() || user.uid == 0) return;
  const auto dir = file.substr(0, file.rfind('/'));
  struct stat info = {};
  if (::stat(dir.c_str(), &info) != 0 || !S_ISDIR(info.st_mode) || info.st_uid == user.uid) return;
  if (::chown(dir.c_str(), user.uid, user.gid) != 0) {
    spdlog::error("{} stays unwritable for user {}: sysctl writes will be refused ({})", dir,
                  user.name, errno_status("chown " + dir).message);
    return;
  }
  spdlog::info("state directory {} handed to user {} (the record of the sysctls as found)", dir,
               user.name);
}

bool listen_and_drop_privileges(StatusServer& status_server, const Config& config) {
  std::optional<RunAs> user;
  std::optional<StatusServer::DirOwner> dir_owner;
  if (::geteuid() == 0) {
    auto found = find_run_as(config.run_as);
    if (!found.ok()) {
      spdlog::error("{}", found.status.message);
      return false;
    }
    user = found.value;
    dir_owner = StatusServer::DirOwner{.uid = user->uid, .gid = user->gid};
  }
  if (auto status = status_server.listen(config.status_socket, config.status_socket_mode,
                                         config.status_socket_group, dir_owner);
      !status.ok()) {
    spdlog::error("{}", status.message);
    return false;
  }
  if (!user) return true;
  hand_over_state_dir(config, *user);
  const auto dropped = drop_privileges(*user);
  if (!dropped.ok()) {
    spdlog::error("{}; not running on as root (set run_as, or \"root\" to keep uid 0)",
                  dropped.status.message);
    return false;
  }
  spdlog::info("running as user {} (uid {}) with CAP_NET_ADMIN alone", user->name, user->uid);
  if (!dropped.value.kept.empty()) {
    spdlog::warn(
        "could not drop {}; dropped the effective, permitted, inheritable and "
        "ambient sets and set no_new_privs",
        dropped.value.kept);
  }
  return true;
}

}  // namespace ndpsync
