// The status document (docs/status.md), rendered from a read-only view of the agent's rooms.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ndpsync/announcer.hpp"
#include "ndpsync/listener_filters.hpp"
#include "ndpsync/metrics.hpp"
#include "ndpsync/prober.hpp"
#include "ndpsync/proxy_writer.hpp"
#include "ndpsync/report.hpp"
#include "ndpsync/sysctl_keeper.hpp"

namespace ndpsync {

struct Counters {
  std::uint64_t events = 0;
  std::uint64_t reconciles = 0;
  std::uint64_t full_reconciles = 0;  // of those, the ones that judged every address
  std::uint64_t adds = 0;
  std::uint64_t removes = 0;
  std::uint64_t errors = 0;
  std::uint64_t write_errors = 0;  // of those, proxy entry writes the kernel refused
  std::uint64_t resyncs = 0;
  std::uint64_t overruns = 0;
  std::uint64_t malformed = 0;  // event batches with a message we could not parse (re-read)
  std::uint64_t probes = 0;
  std::uint64_t uplink_probes = 0;    // of those, solicitations on an uplink before a first claim
  std::uint64_t withdrawals = 0;      // liveness verdicts
  std::uint64_t dad_probes_seen = 0;  // on downstream interfaces
  std::uint64_t dad_probes_followed = 0;
  std::uint64_t dad_probes_ignored = 0;
  // On-demand discovery (DiscoveryCounters): solicitations for unproxied addresses in an
  // uplink's prefixes, and what became of them.
  std::uint64_t on_demand_solicitations = 0;
  std::uint64_t on_demand_probes = 0;
  std::uint64_t on_demand_found = 0;
  std::uint64_t on_demand_not_found = 0;
  std::uint64_t on_demand_refused = 0;
  std::uint64_t on_demand_limited = 0;
  std::uint64_t on_demand_negative_hits = 0;
  std::uint64_t on_demand_repeats = 0;
  std::uint64_t on_demand_forgiven = 0;   // misses not cached: their link changed
  std::uint64_t on_demand_pending = 0;    // a gauge: probes waiting for an answer
  std::uint64_t on_demand_negative = 0;   // a gauge: targets in the negative cache
  std::uint64_t adverts_solicited = 0;    // sent from userspace for found targets
  std::uint64_t adverts_unsolicited = 0;  // sent on new claims (unsolicited_na)
  std::uint64_t adverts_withheld = 0;     // not sent: another node on the uplink kept answering
  std::uint64_t advert_errors = 0;
  std::uint64_t sysctl_repairs = 0;
  std::uint64_t reloads = 0;
  std::uint64_t capped = 0;                 // addresses refused for a cap right now (a gauge)
  std::uint64_t capped_mac = 0;             // of those, refused for max_entries_per_mac (a gauge)
  std::uint64_t packet_filter_updates = 0;  // kernel-side filters re-attached to the listeners
  std::uint64_t packet_pauses = 0;     // a listener spent its budget: it dropped all till the end
  std::uint64_t packet_discarded = 0;  // of its window; packets read away unjudged then
  std::uint64_t packet_targets_unfiltered = 0;  // a gauge: 1 when too many targets to filter
};

struct StatusSources {
  const Config& config;
  const ObservedState& observed;
  const Decision& decision;
  const Prober& prober;
  const ProxyWriter& writer;
  std::vector<SysctlState> sysctls;  // with the values found first
  Counters counters;
  WallTime started;
  std::optional<WallTime> last_resync;
  std::optional<WallTime> last_reconcile;  // the table last matched the decision
};

// The agent's own counters completed with those its rooms keep.
Counters gather_counters(Counters own, const WriterCounters& writer, const ProberCounters& prober,
                         const Announcer& announcer, const KeeperCounters& keeper,
                         const ListenerFilters& listeners);
// One line, for sd_notify STATUS=: cheap, since the loop sends it after every batch.
std::string summary_line(const Decision& decision, const Prober& prober, const ProxyWriter& writer);

class StatusView {
 public:
  explicit StatusView(StatusSources sources);

  [[nodiscard]] nlohmann::json document(SteadyTime now) const;
  // The same document as text, written one entry at a time: at 10,000 entries a whole tree of
  // them would take ~20 MB for a moment; this takes the text and one entry at a time.
  [[nodiscard]] std::string text(SteadyTime now) const;
  // What `metrics_from_status(document(now))` gives, without the entries' document.
  [[nodiscard]] MetricsSnapshot metrics(SteadyTime now) const;

 private:
  // Everything but the entries (an empty list).
  [[nodiscard]] nlohmann::json frame(SteadyTime now) const;
  template <typename Visit>
  void for_each_entry(Visit&& visit) const;

  StatusSources s_;
  Names names_;
};

}  // namespace ndpsync
