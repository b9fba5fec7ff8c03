#include "ndpsync/cleanup.hpp"

#include <algorithm>

namespace ndpsync {

bool CleanupReport::failed() const {
  return !failures.empty() || std::any_of(sysctls.begin(), sysctls.end(), [](const RestoreStep& s) {
    return s.action == RestoreStep::Action::kFailed;
  });
}

CleanupReport cleanup(KernelPort& kernel, std::uint8_t owner, const SysctlJournal* journal,
                      CleanupMode mode) {
  CleanupReport report;
  auto proxies = kernel.dump_proxies();
  if (!proxies.ok()) {
    report.failures.push_back({"dump", "proxy entries", proxies.status});
  }
  for (const auto& entry : proxies.value) {
    if (entry.protocol != owner) {
      ++report.foreign;
      continue;
    }
    if (mode == CleanupMode::kWrite) {
      if (auto status = kernel.delete_proxy(entry); !status.ok()) {
        report.failures.push_back({"delete", to_string(entry), status});
        continue;
      }
    }
    report.removed.push_back(entry);
  }
  // The entries first, then the sysctls, last write first.
  if (journal != nullptr) {
    report.sysctls = restore_sysctls(
        kernel, *journal, mode == CleanupMode::kWrite ? RestoreMode::kWrite : RestoreMode::kDryRun);
  }
  return report;
}

}  // namespace ndpsync
