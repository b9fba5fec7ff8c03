// `ndpsync cleanup`: the removal path for installs with or without the package.
#pragma once

#include "ndpsync/config.hpp"

namespace ndpsync::cli {

struct CleanupOptions {
  bool purge = false;    // the sysctls too, from the journal
  bool dry_run = false;  // say what would change; change nothing
};

// Refuses (1) while an agent answers on the config's status socket; 2 for a malformed journal.
int run_cleanup(const Config& config, const CleanupOptions& options);

}  // namespace ndpsync::cli
