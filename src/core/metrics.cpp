#include "ndpsync/metrics.hpp"

#include <ctime>

#include "ndpsync/policy.hpp"
#include "ndpsync/utf8.hpp"

namespace ndpsync {
namespace {

using nlohmann::json;

struct Sample {
  std::vector<std::pair<std::string, std::string>> labels;
  std::string value;
};

struct Family {
  std::string name;
  const char* type;  // "gauge" or "counter"
  std::string help;
  std::vector<Sample> samples;
};

// The status document's counters as metrics. Several keys may share one family (adds and
// removes are kernel writes, told apart by a label); `capped` and `capped_mac` are gauges.
struct CounterSpec {
  const char* key;
  const char* name;
  const char* type;
  const char* help;
  const char* label;  // "name=value", or nullptr
};
constexpr CounterSpec kCounterSpecs[] = {
    {"events", "ndpsync_events_total", "counter", "Kernel events (netlink notifications) received.",
     nullptr},
    {"reconciles", "ndpsync_reconciles_total", "counter",
     "Reconciles: decisions compared with the proxy table.", nullptr},
    {"full_reconciles", "ndpsync_full_reconciles_total", "counter",
     "Reconciles that judged every address rather than the changed ones.", nullptr},
    {"adds", "ndpsync_kernel_writes_total", "counter",
     "Proxy entries written to the kernel, by operation.", "operation=add"},
    {"removes", "ndpsync_kernel_writes_total", "counter",
     "Proxy entries written to the kernel, by operation.", "operation=delete"},
    {"write_errors", "ndpsync_kernel_write_failures_total", "counter",
     "Proxy entry writes the kernel refused (each is retried with backoff).", nullptr},
    {"errors", "ndpsync_errors_total", "counter",
     "Failed kernel operations of any kind: proxy writes, sysctl writes, dumps.", nullptr},
    {"resyncs", "ndpsync_resyncs_total", "counter", "Full re-reads of the kernel state.", nullptr},
    {"overruns", "ndpsync_overruns_total", "counter",
     "Netlink event socket overruns (ENOBUFS), each followed by a full re-read.", nullptr},
    {"malformed", "ndpsync_malformed_batches_total", "counter",
     "Event batches holding a netlink message that could not be parsed.", nullptr},
    {"probes", "ndpsync_probes_total", "counter", "Neighbour solicitations sent.", nullptr},
    {"uplink_probes", "ndpsync_uplink_probes_total", "counter",
     "Of the probes, solicitations on an uplink before an address's first claim or its "
     "override advertisement.",
     nullptr},
    {"withdrawals", "ndpsync_withdrawals_total", "counter",
     "Neighbours withdrawn after failing verification.", nullptr},
    {"dad_probes_followed", "ndpsync_dad_probes_total", "counter",
     "DAD probes seen on downstream interfaces (dad_snooping), by what was done with them.",
     "outcome=followed"},
    {"dad_probes_ignored", "ndpsync_dad_probes_total", "counter",
     "DAD probes seen on downstream interfaces (dad_snooping), by what was done with them.",
     "outcome=ignored"},
    {"on_demand_solicitations", "ndpsync_on_demand_solicitations_total", "counter",
     "Solicitations on an uplink for an unproxied address in its prefixes (on_demand).", nullptr},
    {"on_demand_probes", "ndpsync_on_demand_total", "counter",
     "On-demand solicitations, by what was done with them.", "outcome=probed"},
    {"on_demand_refused", "ndpsync_on_demand_total", "counter",
     "On-demand solicitations, by what was done with them.", "outcome=refused"},
    {"on_demand_limited", "ndpsync_on_demand_total", "counter",
     "On-demand solicitations, by what was done with them.", "outcome=limited"},
    {"on_demand_negative_hits", "ndpsync_on_demand_total", "counter",
     "On-demand solicitations, by what was done with them.", "outcome=negative_cached"},
    {"on_demand_repeats", "ndpsync_on_demand_total", "counter",
     "On-demand solicitations, by what was done with them.", "outcome=already_probing"},
    {"on_demand_forgiven", "ndpsync_on_demand_forgiven_total", "counter",
     "On-demand misses not cached, or forgotten: their downstream link changed.", nullptr},
    {"on_demand_found", "ndpsync_on_demand_probes_total", "counter",
     "On-demand probes, by their result.", "result=found"},
    {"on_demand_not_found", "ndpsync_on_demand_probes_total", "counter",
     "On-demand probes, by their result.", "result=not_found"},
    {"on_demand_pending", "ndpsync_on_demand_pending", "gauge",
     "On-demand probes waiting for an answer.", nullptr},
    {"on_demand_negative", "ndpsync_on_demand_negative_cached", "gauge",
     "Targets in the on-demand negative cache (not probed again for 30 s).", nullptr},
    {"adverts_solicited", "ndpsync_adverts_total", "counter",
     "Neighbour advertisements sent from userspace, by kind.", "kind=solicited"},
    {"adverts_unsolicited", "ndpsync_adverts_total", "counter",
     "Neighbour advertisements sent from userspace, by kind.", "kind=unsolicited"},
    {"adverts_withheld", "ndpsync_adverts_withheld_total", "counter",
     "Override advertisements of first claims not sent: another node on the uplink kept "
     "answering for the address.",
     nullptr},
    {"advert_errors", "ndpsync_advert_failures_total", "counter",
     "Neighbour advertisements the kernel refused to send.", nullptr},
    {"sysctl_repairs", "ndpsync_sysctl_repairs_total", "counter",
     "Sysctls found changed by someone else and set again.", nullptr},
    {"reloads", "ndpsync_reloads_total", "counter", "Config reloads (SIGHUP) that succeeded.",
     nullptr},
    {"capped", "ndpsync_capped_addresses", "gauge",
     "Addresses refused right now for a cap (max_entries, max_entries_per_interface or "
     "max_entries_per_mac).",
     nullptr},
    {"capped_mac", "ndpsync_capped_mac_addresses", "gauge",
     "Addresses refused right now for max_entries_per_mac (one MAC claims too many).", nullptr},
    {"packet_filter_updates", "ndpsync_packet_filter_updates_total", "counter",
     "Kernel-side filters re-attached to the packet listeners.", nullptr},
    {"packet_pauses", "ndpsync_packet_pauses_total", "counter",
     "Times a packet listener spent its budget and dropped everything to the end of its window.",
     nullptr},
    {"packet_discarded", "ndpsync_packet_discarded_total", "counter",
     "Packets a listener read away unjudged when it paused.", nullptr},
    {"packet_targets_unfiltered", "ndpsync_packet_targets_unfiltered", "gauge",
     "1 when the proxied targets are too many for the solicitation listener's kernel filter.",
     nullptr},
};

std::string escape_label(std::string_view value) {
  std::string out;
  for (const char c : replace_invalid_utf8(value)) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

Family& family(std::vector<Family>& families, const std::string& name, const char* type,
               const std::string& help) {
  for (auto& f : families) {
    if (f.name == name) return f;
  }
  return families.emplace_back(Family{.name = name, .type = type, .help = help, .samples = {}});
}

void gauge(std::vector<Family>& families, const std::string& name, const std::string& help,
           std::uint64_t value) {
  family(families, name, "gauge", help).samples.push_back({{}, std::to_string(value)});
}

void timestamp(std::vector<Family>& families, const std::string& name, const std::string& help,
               const std::optional<std::int64_t>& value) {
  if (value) family(families, name, "gauge", help).samples.push_back({{}, std::to_string(*value)});
}

std::vector<Family> families_of(const MetricsSnapshot& m) {
  std::vector<Family> out;
  gauge(out, "ndpsync_up",
        "1 while the agent runs; 0 in the file an agent leaves when it is stopped.", m.up ? 1 : 0);
  family(out, "ndpsync_build_info", "gauge", "Always 1; the label names ndpsync's version.")
      .samples.push_back({{{"version", m.version}}, "1"});
  timestamp(out, "ndpsync_start_time_seconds", "When the agent started, unix seconds.", m.started);
  timestamp(out, "ndpsync_last_resync_timestamp_seconds",
            "When the agent last re-read the whole kernel state, unix seconds.", m.last_resync);
  timestamp(out, "ndpsync_last_reconcile_timestamp_seconds",
            "When a reconcile last left the proxy table as decided (no write pending), "
            "unix seconds. Advances at every resync at least.",
            m.last_reconcile);

  auto& entries = family(out, "ndpsync_entries", "gauge",
                         "Proxy entries installed by this agent, by uplink and source.");
  auto counts = m.entries;
  for (const auto& uplink : m.uplinks) {
    for (auto i = 0; i <= static_cast<int>(kLastSource); ++i) {
      counts.try_emplace({uplink, std::string(to_string(static_cast<Source>(i)))}, 0);
    }
  }
  for (const auto& [key, count] : counts) {
    entries.samples.push_back(
        {{{"uplink", key.first}, {"source", key.second}}, std::to_string(count)});
  }
  auto skipped_counts = m.skipped;
  for (int r = 0; r <= static_cast<int>(kLastSkipReason); ++r) {
    skipped_counts.try_emplace(std::string(to_string(static_cast<SkipReason>(r))), 0);
  }
  auto& skipped = family(out, "ndpsync_skipped_addresses", "gauge",
                         "Addresses seen downstream that are not proxied right now, by reason.");
  for (const auto& [reason, count] : skipped_counts) {
    skipped.samples.push_back({{{"reason", reason}}, std::to_string(count)});
  }
  gauge(out, "ndpsync_foreign_entries",
        "Proxy entries on an uplink that another owner installed (never touched).", m.foreign);
  gauge(out, "ndpsync_missing_uplinks", "Configured uplinks that do not exist.", m.missing_uplinks);
  gauge(out, "ndpsync_verifying_neighbours", "Neighbours being verified by probes.", m.verifying);
  gauge(out, "ndpsync_withdrawn_neighbours",
        "Neighbours the kernel still lists that failed verification.", m.withdrawn);
  gauge(out, "ndpsync_pending_writes", "Failed proxy entry writes waiting for a retry.", m.pending);

  for (const auto& spec : kCounterSpecs) {
    const auto it = m.counters.find(spec.key);
    if (it == m.counters.end()) continue;
    Sample sample{.labels = {}, .value = std::to_string(it->second)};
    if (spec.label != nullptr) {
      const std::string_view label = spec.label;
      const auto eq = label.find('=');
      sample.labels.emplace_back(label.substr(0, eq), label.substr(eq + 1));
    }
    family(out, spec.name, spec.type, spec.help).samples.push_back(std::move(sample));
  }
  return out;
}

std::optional<std::int64_t> time_at(const json& status, const char* key) {
  const auto it = status.find(key);
  if (it == status.end() || !it->is_string()) return std::nullopt;
  return parse_iso_time(it->get<std::string>());
}

std::uint64_t size_of(const json& status, const char* key) {
  const auto it = status.find(key);
  return it != status.end() && it->is_array() ? it->size() : 0;
}

std::string string_at(const json& object, const char* key) {
  if (!object.is_object()) return "";
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

std::optional<std::int64_t> parse_iso_time(std::string_view text) {
  std::tm tm{};
  const std::string copy(text);
  const char* end = strptime(copy.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return static_cast<std::int64_t>(timegm(&tm));
}

MetricsSnapshot metrics_from_status(const json& status) {
  MetricsSnapshot m;
  if (!status.is_object()) return m;
  m.version = string_at(status, "version");
  m.started = time_at(status, "started");
  m.last_resync = time_at(status, "last_resync");
  m.last_reconcile = time_at(status, "last_reconcile");
  if (const auto it = status.find("uplinks"); it != status.end() && it->is_array()) {
    for (const auto& uplink : *it) {
      if (auto name = string_at(uplink, "name"); !name.empty()) m.uplinks.push_back(name);
    }
  }
  if (const auto it = status.find("entries"); it != status.end() && it->is_array()) {
    for (const auto& entry : *it) {
      auto uplink = string_at(entry, "uplink");
      auto source = string_at(entry, "source");
      if (!uplink.empty() && !source.empty()) ++m.entries[{uplink, source}];
    }
  }
  if (const auto it = status.find("skipped"); it != status.end() && it->is_array()) {
    for (const auto& skipped : *it) {
      if (auto reason = string_at(skipped, "reason"); !reason.empty()) ++m.skipped[reason];
    }
  }
  m.foreign = size_of(status, "foreign");
  m.missing_uplinks = size_of(status, "missing_uplinks");
  m.verifying = size_of(status, "verifying");
  m.withdrawn = size_of(status, "withdrawn");
  m.pending = size_of(status, "pending");
  if (const auto it = status.find("counters"); it != status.end() && it->is_object()) {
    for (const auto& [key, value] : it->items()) {
      if (value.is_number_unsigned()) m.counters[key] = value.get<std::uint64_t>();
    }
  }
  return m;
}

std::string render_prometheus(const MetricsSnapshot& metrics) {
  std::string out;
  for (const auto& f : families_of(metrics)) {
    // HELP text escapes only backslash and newline.
    std::string help;
    for (const char c : f.help) help += c == '\\' ? "\\\\" : c == '\n' ? "\\n" : std::string(1, c);
    out += "# HELP " + f.name + " " + help + "\n";
    out += "# TYPE " + f.name + " " + f.type + "\n";
    for (const auto& s : f.samples) {
      out += f.name;
      if (!s.labels.empty()) {
        out += '{';
        for (std::size_t i = 0; i < s.labels.size(); ++i) {
          if (i > 0) out += ',';
          out += s.labels[i].first + "=\"" + escape_label(s.labels[i].second) + '"';
        }
        out += '}';
      }
      out += ' ' + s.value + '\n';
    }
  }
  return out;
}

}  // namespace ndpsync
