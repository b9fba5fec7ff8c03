#include "ndpsync/sysctl_journal.hpp"

#include <algorithm>
#include <cerrno>
#include <sstream>

namespace ndpsync {
namespace {

// "conf/eth0.100/proxy_ndp": the path under /proc/sys/net/ipv6, unambiguous for an interface
// name with dots in it (the dotted sysctl name is not).
std::string key_path(const SysctlKey& key) {
  return std::string(key.tree == SysctlKey::Tree::kConf ? "conf/" : "neigh/") + key.iface + "/" +
         key.name;
}

std::optional<SysctlKey> parse_path(const std::string& path) {
  const auto first = path.find('/');
  const auto last = path.rfind('/');
  if (first == std::string::npos || first == last) return std::nullopt;
  const auto tree = path.substr(0, first);
  SysctlKey key{.tree = tree == "neigh" ? SysctlKey::Tree::kNeigh : SysctlKey::Tree::kConf,
                .iface = path.substr(first + 1, last - first - 1),
                .name = path.substr(last + 1)};
  if ((tree != "conf" && tree != "neigh") || key.iface.empty() || key.name.empty()) {
    return std::nullopt;
  }
  return key;
}

}  // namespace

Result<SysctlJournal> SysctlJournal::parse(std::string_view text, std::string boot_id) {
  SysctlJournal journal(std::move(boot_id));
  std::istringstream in{std::string(text)};
  std::string line;
  std::optional<std::string> file_boot;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty() || line.front() == '#') continue;
    std::istringstream words(line);
    std::string first;
    std::string found;
    std::string set;
    std::string extra;
    words >> first >> found;
    const auto bad = [&](std::string_view why) {
      auto message = "line " + std::to_string(number) + ": ";
      message.append(why).append(": '").append(line).append("'");
      return Result<SysctlJournal>{.status = {.error = EINVAL, .message = std::move(message)},
                                   .value = SysctlJournal("")};
    };
    if (first == "boot") {
      if (found.empty() || file_boot) return bad("a second or empty boot line");
      file_boot = found;
      continue;
    }
    if (!file_boot) return bad("an entry before the boot line");
    words >> set;
    const auto key = parse_path(first);
    if (!key || set.empty() || (words >> extra)) return bad("not 'PATH FOUND SET'");
    journal.entries_.push_back({*key, found, set});
  }
  if (file_boot && *file_boot != journal.boot_id_) {
    journal.stale_boot_ = *file_boot;
    journal.entries_.clear();
  }
  return {.status = {}, .value = std::move(journal)};
}

bool SysctlJournal::note(const SysctlKey& key, const std::string& found, const std::string& set) {
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const JournalEntry& e) { return e.key == key; });
  if (it == entries_.end()) {
    if (found == set) return false;  // nothing changes: nothing to put back
    entries_.push_back({key, found, set});
    return true;
  }
  if (it->set == set) return false;
  it->set = set;
  return true;
}

std::string SysctlJournal::text() const {
  std::string out =
      "# ndpsync: each sysctl as found before ndpsync first changed it in this boot, then the\n"
      "# value ndpsync set (paths under /proc/sys/net/ipv6). `ndpsync cleanup --purge` and the\n"
      "# package's purge put back those that still hold ndpsync's value.\n";
  out += "boot " + boot_id_ + "\n";
  for (const auto& e : entries_) out += key_path(e.key) + " " + e.found + " " + e.set + "\n";
  return out;
}

Status JournaledSysctls::write_sysctl(const SysctlKey& key, const std::string& value) {
  const auto found = inner_.read_sysctl(key);
  if (found.ok() && journal_.note(key, found.value, value)) {
    if (auto saved = store_.save(journal_.text()); !saved.ok()) {
      return {.error = saved.error,
              .message = "not written: the value found (" + found.value +
                         ") could not be recorded in " + store_.where() + " for a later purge: " +
                         saved.message + " (state_dir \"\" keeps no record)"};
    }
  }
  return inner_.write_sysctl(key, value);
}

std::string RestoreStep::text() const {
  auto name = entry.key.to_string();
  switch (action) {
    case Action::kRestored: return name + ": " + entry.set + " -> " + entry.found + " (as found)";
    case Action::kAlready: return name + ": " + now + " already (as found)";
    case Action::kChangedSince:
      return name + ": left at " + now + ": changed since ndpsync set " + entry.set +
             " (it found " + entry.found + ")";
    case Action::kGone: return name + ": the interface is gone";
    case Action::kFailed:
      return name + ": could not put back " + entry.found + ": " + status.message;
  }
  return name;
}

std::vector<RestoreStep> restore_sysctls(SysctlPort& kernel, const SysctlJournal& journal,
                                         RestoreMode mode) {
  std::vector<RestoreStep> steps;
  const auto& entries = journal.entries();
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    RestoreStep step{.entry = *it};
    const auto now = kernel.read_sysctl(it->key);
    step.now = now.value;
    if (!now.ok()) {
      step.action =
          now.status.error == ENOENT ? RestoreStep::Action::kGone : RestoreStep::Action::kFailed;
      step.status = now.status;
    } else if (now.value == it->found) {
      step.action = RestoreStep::Action::kAlready;
    } else if (now.value != it->set) {
      step.action = RestoreStep::Action::kChangedSince;
    } else {
      step.action = RestoreStep::Action::kRestored;
      if (mode == RestoreMode::kWrite) step.status = kernel.write_sysctl(it->key, it->found);
      if (!step.status.ok()) step.action = RestoreStep::Action::kFailed;
    }
    steps.push_back(std::move(step));
  }
  return steps;
}

}  // namespace ndpsync
