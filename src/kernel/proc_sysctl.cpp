// The sysctl port: IPv6 sysctls as files under /proc/sys/net/ipv6.
#include <cerrno>
#include <fstream>

#include "ndpsync/netlink.hpp"
#include "ndpsync/result.hpp"

namespace ndpsync {
namespace {

std::string sysctl_path(const SysctlKey& key) {
  return std::string("/proc/sys/net/ipv6/") +
         (key.tree == SysctlKey::Tree::kConf ? "conf/" : "neigh/") + key.iface + "/" + key.name;
}

Status fail(int error, const std::string& what) {
  return {.error = error, .message = what + ": " + errno_name(error)};
}

}  // namespace

Result<std::string> ProcSysctls::read_sysctl(const SysctlKey& key) {
  errno = 0;
  std::ifstream file(sysctl_path(key));
  std::string value;
  if (!file || !std::getline(file, value)) {
    return {.status = fail(errno != 0 ? errno : ENOENT, "read " + key.to_string()), .value = {}};
  }
  return {.status = {}, .value = value};
}

Status ProcSysctls::write_sysctl(const SysctlKey& key, const std::string& value) {
  errno = 0;
  std::ofstream file(sysctl_path(key));
  if (!file) {
    return fail(errno != 0 ? errno : ENOENT, "write " + key.to_string());
  }
  file << value << '\n';
  file.flush();
  if (!file) {
    return fail(errno != 0 ? errno : EIO, "write " + key.to_string());
  }
  return {};
}

}  // namespace ndpsync
