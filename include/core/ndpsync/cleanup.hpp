// `ndpsync cleanup`: what a removal does (docs/operations.md, "Removal"). Every proxy entry
// carrying our owner tag goes; foreign ones stay. With --purge, the sysctls recorded in the
// journal (sysctl_journal.hpp) are put back too.
#pragma once

#include <vector>

#include "ndpsync/kernel_port.hpp"
#include "ndpsync/sysctl_journal.hpp"

namespace ndpsync {

struct CleanupReport {
  std::vector<ProxyEntry> removed;  // or, in a dry run, those that would be
  std::size_t foreign = 0;          // entries of others, left alone
  std::vector<RestoreStep> sysctls;
  std::vector<Failure> failures;

  [[nodiscard]] bool failed() const;
};

enum class CleanupMode : std::uint8_t { kWrite, kDryRun };

// Deletes our entries; then, when `journal` is given, restores its sysctls (restore_sysctls()).
CleanupReport cleanup(KernelPort& kernel, std::uint8_t owner, const SysctlJournal* journal,
                      CleanupMode mode);

}  // namespace ndpsync
