#include "cleanup.hpp"

#include <net/if.h>

#include <array>
#include <cerrno>
#include <iostream>

#include "ndpsync/cleanup.hpp"
#include "ndpsync/netlink.hpp"
#include "status_client.hpp"

namespace ndpsync::cli {
namespace {

std::string link_name(IfIndex index) {
  std::array<char, IF_NAMESIZE> name{};
  return ::if_indextoname(index, name.data()) != nullptr ? std::string(name.data())
                                                         : unnamed_interface(index);
}

// The journal a purge restores from, or why there is none (said on stdout); 0, or the exit code.
int load_for_purge(const std::string& path, std::optional<FileJournalStore>& store,
                   std::optional<SysctlJournal>& journal) {
  if (path.empty()) {
    std::cout << "sysctls: left as they are (state_dir is \"\": nothing was recorded)\n";
    return 0;
  }
  store.emplace(path);
  auto loaded = load_journal(*store);
  if (!loaded.ok()) {
    std::cerr << "ndpsync: " << loaded.status.message << "\n";
    return loaded.status.error == EINVAL ? 2 : 1;
  }
  journal = std::move(loaded.value);
  if (!journal) {
    std::cout << "sysctls: left as they are (no state directory for " << path
              << ": nothing was recorded)\n";
  } else if (journal->stale_boot()) {
    std::cout << "sysctls: left as they are (" << path
              << " is of an earlier boot: the kernel has reset every sysctl since)\n";
  }
  return 0;
}

}  // namespace

int run_cleanup(const Config& config, const CleanupOptions& options) {
  // A running agent would put its entries straight back.
  if (query_status(config.status_socket).ok()) {
    std::cerr << "ndpsync: an agent is running (it answers on " << config.status_socket
              << "): stop it first (systemctl stop ndpsync)\n";
    return 1;
  }
  auto kernel = make_netlink_kernel();  // no journal: putting values back is not recorded
  if (!kernel.ok()) {
    std::cerr << "ndpsync: " << kernel.status.message << "\n";
    return 1;
  }
  const auto would = options.dry_run ? "would " : "";
  std::optional<FileJournalStore> store;
  std::optional<SysctlJournal> journal;
  if (options.purge) {
    if (const int rc = load_for_purge(journal_file(config), store, journal); rc != 0) return rc;
  }
  const auto report = cleanup(*kernel.value, config.owner_protocol, journal ? &*journal : nullptr,
                              options.dry_run ? CleanupMode::kDryRun : CleanupMode::kWrite);
  for (const auto& entry : report.removed) {
    std::cout << (options.dry_run ? "would remove" : "removed") << " proxy "
              << entry.address.to_string() << " dev " << link_name(entry.ifindex) << "\n";
  }
  std::cout << "proxy entries: " << report.removed.size() << " of ours " << would << "removed, "
            << report.foreign << " of other owners left alone\n";
  for (const auto& step : report.sysctls) {
    std::cout << (options.dry_run && step.action == RestoreStep::Action::kRestored ? "would " : "")
              << "sysctl " << step.text() << "\n";
  }
  for (const auto& failure : report.failures) {
    std::cerr << "ndpsync: " << failure.operation << " " << failure.target << ": "
              << failure.status.message << "\n";
  }
  if (report.failed()) return 1;
  if (journal && !options.dry_run) {
    if (auto erased = store->erase(); !erased.ok()) {
      std::cerr << "ndpsync: " << erased.message << "\n";
      return 1;
    }
  }
  return 0;
}

}  // namespace ndpsync::cli
