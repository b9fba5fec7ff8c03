// The agent's state as Prometheus metrics, in the text exposition format that node_exporter's
// textfile collector reads (docs/metrics.md). One snapshot type and one renderer: the agent
// fills the snapshot from its own state for --metrics-file, `ndpsync status --prometheus` fills
// it from the status document, and both print it with render_prometheus().
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ndpsync {

struct MetricsSnapshot {
  bool up = true;  // false only in the file a cleanly stopped agent leaves behind
  std::string version;
  // Unix seconds.
  std::optional<std::int64_t> started;
  std::optional<std::int64_t> last_resync;
  std::optional<std::int64_t> last_reconcile;  // the table last matched the decision
  std::vector<std::string> uplinks;            // each gets a sample per source, zero or not
  std::map<std::pair<std::string, std::string>, std::uint64_t> entries;  // (uplink, source)
  std::map<std::string, std::uint64_t> skipped;                          // by reason code
  std::uint64_t foreign = 0;
  std::uint64_t missing_uplinks = 0;
  std::uint64_t verifying = 0;
  std::uint64_t withdrawn = 0;
  std::uint64_t pending = 0;
  // The status document's counters, by their key there ("adds", "overruns", ...).
  std::map<std::string, std::uint64_t> counters;

  bool operator==(const MetricsSnapshot&) const = default;
};

// The status document (docs/status.md) as a snapshot. The document may come from an agent of
// another version: keys that are missing or of another type are left out, never guessed.
MetricsSnapshot metrics_from_status(const nlohmann::json& status);

// The text exposition format: every family with its HELP and TYPE lines, counters named
// *_total, label values escaped. Families whose value is unknown are left out.
std::string render_prometheus(const MetricsSnapshot& metrics);

// "2026-01-01T00:00:00Z" (the status document's times) as unix seconds; nullopt when `text` is
// not such a time.
std::optional<std::int64_t> parse_iso_time(std::string_view text);

}  // namespace ndpsync
