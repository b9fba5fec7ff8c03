#include "ndpsync/status_view.hpp"

#include "ndpsync/utf8.hpp"

#include <unistd.h>

#include <array>
#include <ctime>
#include <utility>

namespace ndpsync {
namespace {

std::string iso_time(WallTime t) {
  const auto seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  std::array<char, 32> text{};
  std::strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text.data();
}

double seconds_until(SteadyTime then, SteadyTime now) {
  return std::chrono::duration<double>(then - now).count();
}

nlohmann::json counters_json(const Counters& c) {
  return {{"events", c.events},
          {"reconciles", c.reconciles},
          {"full_reconciles", c.full_reconciles},
          {"adds", c.adds},
          {"removes", c.removes},
          {"errors", c.errors},
          {"write_errors", c.write_errors},
          {"resyncs", c.resyncs},
          {"overruns", c.overruns},
          {"malformed", c.malformed},
          {"probes", c.probes},
          {"uplink_probes", c.uplink_probes},
          {"withdrawals", c.withdrawals},
          {"dad_probes_seen", c.dad_probes_seen},
          {"dad_probes_followed", c.dad_probes_followed},
          {"dad_probes_ignored", c.dad_probes_ignored},
          {"on_demand_solicitations", c.on_demand_solicitations},
          {"on_demand_probes", c.on_demand_probes},
          {"on_demand_found", c.on_demand_found},
          {"on_demand_not_found", c.on_demand_not_found},
          {"on_demand_refused", c.on_demand_refused},
          {"on_demand_limited", c.on_demand_limited},
          {"on_demand_negative_hits", c.on_demand_negative_hits},
          {"on_demand_repeats", c.on_demand_repeats},
          {"on_demand_forgiven", c.on_demand_forgiven},
          {"on_demand_pending", c.on_demand_pending},
          {"on_demand_negative", c.on_demand_negative},
          {"adverts_solicited", c.adverts_solicited},
          {"adverts_unsolicited", c.adverts_unsolicited},
          {"adverts_withheld", c.adverts_withheld},
          {"advert_errors", c.advert_errors},
          {"sysctl_repairs", c.sysctl_repairs},
          {"reloads", c.reloads},
          {"capped", c.capped},
          {"capped_mac", c.capped_mac},

          {"packet_filter_updates", c.packet_filter_updates},
          {"packet_pauses", c.packet_pauses},
          {"packet_discarded", c.packet_discarded},
          {"packet_targets_unfiltered", c.packet_targets_unfiltered}};
}

}  // namespace

Counters gather_counters(Counters own, const WriterCounters& writer, const ProberCounters& prober,
                         const Announcer& announcer, const KeeperCounters& keeper,
                         const ListenerFilters& listeners) {
  own.adds = writer.adds;
  own.removes = writer.removes;
  const auto& l = listeners.counters();
  own.errors += writer.errors + keeper.errors + l.errors;
  own.packet_filter_updates = l.filter_updates;
  own.packet_pauses = l.pauses;
  own.packet_discarded = l.discarded;
  own.packet_targets_unfiltered = listeners.targets_unfiltered() ? 1 : 0;
  own.write_errors = writer.errors;
  const auto& a = announcer.counters();
  own.probes = prober.probes + a.asks;  // an override check's ask is an uplink probe too
  own.uplink_probes = prober.uplink_probes + a.asks;
  own.adverts_unsolicited = a.adverts_unsolicited;
  own.adverts_withheld = a.adverts_withheld;
  own.advert_errors = a.advert_errors;
  own.withdrawals = prober.withdrawals;
  own.dad_probes_seen = prober.dad_probes_seen;
  own.dad_probes_followed = prober.dad_probes_followed;
  own.dad_probes_ignored = prober.dad_probes_ignored;
  const auto& discovery = announcer.discovery();
  const auto& d = discovery.counters();
  own.on_demand_solicitations = d.solicitations;
  own.on_demand_probes = d.probes;
  own.on_demand_found = d.found;
  own.on_demand_not_found = d.not_found;
  own.on_demand_refused = d.refused;
  own.on_demand_limited = d.limited;
  own.on_demand_negative_hits = d.negative_hits;
  own.on_demand_repeats = d.repeats;
  own.on_demand_forgiven = d.forgiven;
  own.on_demand_pending = discovery.pending_count();
  own.on_demand_negative = discovery.negative_count();
  own.adverts_solicited = d.adverts;
  own.sysctl_repairs = keeper.repairs;
  return own;
}

std::string summary_line(const Decision& decision, const Prober& prober,
                         const ProxyWriter& writer) {
  std::string uplinks;
  for (const auto& u : decision.uplinks) uplinks += (uplinks.empty() ? "" : ",") + u.name;
  return std::to_string(decision.desired.size()) + " entries on " +
         (uplinks.empty() ? "no uplink" : uplinks) + ", " +
         std::to_string(prober.liveness().verifying().size()) + " verifying, " +
         std::to_string(writer.pending().size()) + " pending";
}

StatusView::StatusView(StatusSources sources) : s_(std::move(sources)) {
  for (const auto& [index, link] : s_.observed.links()) names_[index] = link.name;
}

template <typename Visit>
void StatusView::for_each_entry(Visit&& visit) const {
  const auto& verifying = s_.prober.liveness().verifying();
  for (const auto& [key, desired] : s_.decision.desired) {
    if (!s_.observed.proxies().contains(key)) continue;  // not installed (yet)
    nlohmann::json item = {{"address", key.second.to_string()},
                           {"uplink", name_of(names_, key.first)},
                           {"source", to_string(desired.source)},
                           {"interface", name_of(names_, desired.source_ifindex)}};
    if (const auto since = s_.writer.ledger().since(key)) {
      item["since"] = iso_time(std::chrono::system_clock::from_time_t(*since));
    }
    if (verifying.contains({desired.source_ifindex, key.second})) item["verifying"] = true;
    visit(std::move(item));
  }
}

nlohmann::json StatusView::document(SteadyTime now) const {
  auto document = frame(now);
  auto& entries = document["entries"];
  for_each_entry([&](nlohmann::json&& item) { entries.push_back(std::move(item)); });
  return document;
}

std::string StatusView::text(SteadyTime now) const {
  const auto document = frame(now);
  std::string text = "{";
  for (const auto& [key, value] : document.items()) {
    if (text.size() > 1) text += ',';
    text += json_text(key);
    text += ':';
    if (key != "entries") {
      text += json_text(value);
      continue;
    }
    text += '[';
    bool first = true;
    for_each_entry([&](nlohmann::json&& item) {
      if (!std::exchange(first, false)) text += ',';
      text += json_text(item);
    });
    text += ']';
  }
  text += '}';
  return text;
}

MetricsSnapshot StatusView::metrics(SteadyTime now) const {
  auto metrics = metrics_from_status(frame(now));
  for (const auto& [key, desired] : s_.decision.desired) {
    if (!s_.observed.proxies().contains(key)) continue;  // as for_each_entry
    ++metrics.entries[{name_of(names_, key.first), std::string(to_string(desired.source))}];
  }
  return metrics;
}

nlohmann::json StatusView::frame(SteadyTime now) const {
  using nlohmann::json;
  json verifying = json::array();
  for (const auto& [key, v] : s_.prober.liveness().verifying()) {
    verifying.push_back({{"address", key.second.to_string()},
                         {"interface", name_of(names_, key.first)},
                         {"probes", v.probes},
                         {"deadline_in_s", seconds_until(v.deadline, now)}});
  }
  json withdrawn = json::array();
  for (const auto& key : s_.prober.liveness().withdrawn()) {
    withdrawn.push_back(
        {{"address", key.second.to_string()}, {"interface", name_of(names_, key.first)}});
  }
  json pending = json::array();
  for (const auto& [key, retry] : s_.writer.pending()) {
    pending.push_back({{"address", key.second.to_string()},
                       {"uplink", name_of(names_, key.first)},
                       {"operation", to_string(retry.op)},
                       {"attempts", retry.attempts},
                       {"retry_in_s", std::max(0.0, seconds_until(retry.next, now))},
                       {"error", retry.status.message}});
  }
  json downstream = json::array();
  for (const auto index : s_.decision.downstream) downstream.push_back(name_of(names_, index));
  return {
      {"schema", kSchemaVersion},
      {"version", kVersion},
      {"mode", "agent"},
      {"pid", static_cast<int>(getpid())},
      {"started", iso_time(s_.started)},
      {"last_resync", s_.last_resync ? json(iso_time(*s_.last_resync)) : json(nullptr)},
      {"last_reconcile", s_.last_reconcile ? json(iso_time(*s_.last_reconcile)) : json(nullptr)},
      {"config_file", s_.config.origin_file ? json(*s_.config.origin_file) : json(nullptr)},
      {"config_digest", s_.config.origin_digest},
      {"owner_protocol", s_.config.owner_protocol},
      {"uplinks", uplinks_json(s_.decision, s_.sysctls)},
      {"missing_uplinks", s_.decision.missing_uplinks},
      {"uplink_candidates", candidates_json(s_.decision)},
      {"sysctls", sysctls_json(s_.sysctls, "all")},
      {"downstream", std::move(downstream)},
      {"entries", json::array()},
      {"foreign", foreign_json(s_.decision, names_)},
      {"skipped", skipped_json(s_.decision, names_)},
      {"capped_macs", capped_macs_json(s_.decision, names_)},
      {"verifying", std::move(verifying)},
      {"withdrawn", std::move(withdrawn)},
      {"pending", std::move(pending)},
      {"counters", counters_json(s_.counters)}};
}

}  // namespace ndpsync
