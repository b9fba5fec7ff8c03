#pragma once

#include <string>

namespace ndpsync::cli {

// Logs go to stderr. Under systemd (JOURNAL_STREAM is set) each line starts with a syslog
// priority prefix ("<6>") so journald files it at the right level, without timestamps it adds
// itself.
void setup_logging(const std::string& level);

}  // namespace ndpsync::cli
