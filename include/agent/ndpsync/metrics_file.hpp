// The agent's metrics file for node_exporter's textfile collector (docs/metrics.md).
#pragma once

#include <string>
#include <string_view>

#include "ndpsync/result.hpp"

namespace ndpsync {

// Replaces `path` with `text` atomically: written to a hidden temporary file in the same
// directory (".NAME.XXXXXX", which the collector's "*.prom" never matches), made 0644 whatever
// the umask (the collector runs as another user), then renamed over `path`. A reader sees the
// old file or the new one, never a part. On failure `path` is unchanged and no temporary file
// is left; the message names the path and the errno.
Status write_file_atomically(const std::string& path, std::string_view text);

}  // namespace ndpsync
