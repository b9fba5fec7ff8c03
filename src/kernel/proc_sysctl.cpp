// The sysctl port: IPv6 sysctls as files under /proc/sys/net/ipv6.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

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

namespace ndpsync {

Result<std::string> FileJournalStore::load() {
  std::ifstream file(path_);
  if (!file) {
    if (errno == ENOENT) return {};
    return {.status = errno_status("read", path_), .value = {}};
  }
  std::ostringstream text;
  text << file.rdbuf();
  return {.status = {}, .value = text.str()};
}

Status FileJournalStore::save(const std::string& text) {
  const auto temporary = path_ + ".new";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno_status("write", temporary);
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  auto status = written && ::fsync(fd) == 0 ? Status{} : errno_status("write", temporary);
  ::close(fd);
  if (status.ok() && ::rename(temporary.c_str(), path_.c_str()) != 0) {
    status = errno_status("rename", temporary);
  }
  if (!status.ok()) ::unlink(temporary.c_str());
  return status;
}

Status FileJournalStore::erase() {
  if (::unlink(path_.c_str()) != 0 && errno != ENOENT) return errno_status("remove", path_);
  return {};
}

std::string read_boot_id() {
  std::ifstream file("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(file, id);
  return id;
}

Result<std::optional<SysctlJournal>> load_journal(FileJournalStore& store) {
  const auto path = store.where();
  const auto dir = path.substr(0, path.rfind('/'));
  struct stat info = {};
  if (::stat(dir.empty() ? "/" : dir.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) return {};
  auto text = store.load();
  if (!text.ok()) return {.status = text.status, .value = {}};
  auto journal = SysctlJournal::parse(text.value, read_boot_id());
  if (!journal.ok()) {
    return {.status = {.error = EINVAL,
                       .message = "state file " + path + ": " + journal.status.message +
                                  " (move it away to start a new record)"},
            .value = {}};
  }
  return {.status = {}, .value = std::move(journal.value)};
}

}  // namespace ndpsync
