#include "ndpsync/report.hpp"

#include <algorithm>
#include <sstream>

namespace ndpsync {

const char* const kVersion = NDPSYNC_VERSION;

using nlohmann::json;

std::string name_of(const Names& names, IfIndex index) {
  if (index == 0) return {};  // no interface: a static address's source
  const auto it = names.find(index);
  return it != names.end() ? it->second : unnamed_interface(index);
}

json sysctls_json(const std::vector<SysctlState>& sysctls, const std::string& iface) {
  json out = json::array();
  for (const auto& s : sysctls) {
    if (s.key.iface != iface) {
      continue;
    }
    json item = {{"key", s.key.to_string()}, {"found", s.found}};
    item["set"] = s.set.empty() ? json(nullptr) : json(s.set);
    if (!s.status.ok()) {
      item["error"] = s.status.message;
    }
    out.push_back(std::move(item));
  }
  return out;
}

namespace {

json evidence_json(const std::vector<UplinkEvidence>& evidence) {
  json out = json::array();
  for (const auto e : evidence) out.push_back(to_string(e));
  return out;
}

}  // namespace

json uplinks_json(const Decision& decision, const std::vector<SysctlState>& sysctls) {
  json out = json::array();
  for (const auto& uplink : decision.uplinks) {
    json prefixes = json::array();
    for (const auto& prefix : uplink.prefixes) {
      prefixes.push_back(prefix.to_string());
    }
    out.push_back({{"name", uplink.name},
                   {"ifindex", uplink.index},
                   {"prefixes", prefixes},
                   {"held", uplink.held()},
                   {"source", to_string(uplink.source)},
                   {"evidence", evidence_json(uplink.evidence)},
                   {"sysctls", sysctls_json(sysctls, uplink.name)}});
  }
  return out;
}

json candidates_json(const Decision& decision) {
  json out = json::array();
  for (const auto& c : decision.uplink_candidates) {
    out.push_back({{"name", c.name}, {"evidence", evidence_json(c.evidence)}});
  }
  return out;
}

std::string uplink_note(const Uplink& uplink, const std::vector<SysctlState>& sysctls,
                        bool dry_run) {
  if (uplink.source != UplinkSource::kSlaac) return {};
  const UplinkCandidate found{uplink.index, uplink.name, uplink.evidence};
  const auto key = "net.ipv6.conf." + uplink.name + ".accept_ra";
  std::string note = "uplink " + uplink.name + " found from " + found.evidence_text() +
                     "; its default route is gone, ";
  const auto it = std::find_if(sysctls.begin(), sysctls.end(), [&](const SysctlState& s) {
    return s.key.tree == SysctlKey::Tree::kConf && s.key.iface == uplink.name &&
           s.key.name == "accept_ra";
  });
  if (it == sysctls.end()) {
    return note + "and sysctls are not managed: set " + key + "=2 so the next RA restores it";
  }
  if (it->set == "2" && dry_run) {
    return note + "accept_ra would be set to 2 so the next RA restores it";
  }
  if (it->set == "2" && it->status.ok()) {
    return note + "accept_ra set to 2 so the next RA restores it";
  }
  if (it->set == "2") {
    return note + "and setting accept_ra to 2 failed (" + it->status.message +
           "): RAs are still ignored there while forwarding is on";
  }
  if (it->found == "2") return note + "accept_ra is 2 already, so the next RA restores it";
  if (it->found == "0") {
    // 0 is also what systemd-networkd and NetworkManager set: they take the RAs themselves, and
    // accept_ra=2 would be the wrong fix there (ndpsync doctor names the manager and its fix).
    return note +
           "and its accept_ra is 0, so the kernel takes no RA there: the network manager that "
           "takes them (systemd-networkd and NetworkManager do) puts the route back; if none "
           "does, `ndpsync doctor` names the uplink's manager and the fix";
  }
  return note + "and its accept_ra (" + (it->found.empty() ? "unreadable" : it->found) +
         ") was left alone: set " + key + "=2 so the next RA restores it";
}

json skipped_json(const Decision& decision, const Names& names) {
  json out = json::array();
  for (const auto& s : decision.skipped) {
    out.push_back({{"address", s.address.to_string()},
                   {"interface", name_of(names, s.ifindex)},
                   {"reason", to_string(s.reason)}});
  }
  return out;
}

json foreign_json(const Decision& decision, const Names& names) {
  json out = json::array();
  for (const auto& e : decision.foreign) {
    out.push_back({{"address", e.address.to_string()},
                   {"uplink", name_of(names, e.ifindex)},
                   {"protocol", e.protocol}});
  }
  return out;
}

json capped_macs_json(const Decision& decision, const Names& names) {
  json out = json::array();
  for (const auto& [key, refused] : decision.capped_macs) {
    const auto admitted = decision.per_mac.find(key);
    out.push_back({{"interface", name_of(names, key.first)},
                   {"mac", key.second.to_string()},
                   {"admitted", admitted == decision.per_mac.end() ? 0 : admitted->second},
                   {"refused", refused}});
  }
  return out;
}

json failures_json(const std::vector<Failure>& failures) {
  json out = json::array();
  for (const auto& f : failures) {
    out.push_back({{"operation", f.operation}, {"target", f.target}, {"error", f.status.message}});
  }
  return out;
}

namespace {

json entry_list(const std::vector<ProxyEntry>& entries, const Decision& decision,
                const Names& names) {
  json out = json::array();
  for (const auto& e : entries) {
    json item = {{"address", e.address.to_string()}, {"uplink", name_of(names, e.ifindex)}};
    if (const auto it = decision.desired.find({e.ifindex, e.address});
        it != decision.desired.end()) {
      item["source"] = to_string(it->second.source);
      item["interface"] = name_of(names, it->second.source_ifindex);
    }
    out.push_back(std::move(item));
  }
  return out;
}

// The uplinks the decision found, the configured ones it did not, and why there is none.
void uplinks_text(const ReconcileReport& report, std::ostream& out) {
  const auto& d = report.decision;
  if (d.uplinks.empty()) {
    out << "no uplink: no IPv6 default route";
    if (!d.missing_uplinks.empty()) {
      out << " and configured uplinks missing";
    } else if (d.uplink_candidates.empty()) {
      out << ", and no interface shows SLAAC addresses, RA prefix routes or a router's RAs";
    } else {
      out << ", and " << d.uplink_candidates.size()
          << " interfaces look like the uplink (see the error below)";
    }
    out << "\n";
  }
  for (const auto& name : d.missing_uplinks) {
    out << "uplink " << name << ": not present\n";
  }
  for (const auto& u : d.uplinks) {
    out << "uplink " << u.name << ":";
    for (const auto& p : u.prefixes) {
      out << " " << p.to_string();
    }
    out << (u.held() ? " (no prefix detected: holding entries)" : "") << "\n";
    if (const auto note = uplink_note(u, report.sysctls, report.dry_run); !note.empty()) {
      out << note << "\n";
    }
  }
}

void skipped_text(const Decision& d, const Names& names, std::ostream& out) {
  std::map<std::string_view, int> quiet;  // link-local and multicast: counted, not listed
  for (const auto& s : d.skipped) {
    if (s.reason == SkipReason::kLinkLocal || s.reason == SkipReason::kMulticast) {
      ++quiet[to_string(s.reason)];
      continue;
    }
    out << "skipped " << s.address.to_string() << " on " << name_of(names, s.ifindex) << ": "
        << to_string(s.reason) << "\n";
  }
  for (const auto& [reason, count] : quiet) {
    out << "skipped " << count << " " << reason << " address" << (count == 1 ? "" : "es") << "\n";
  }
}

}  // namespace

json report_json(const ReconcileReport& report) {
  const auto& d = report.decision;
  json downstream = json::array();
  for (const auto index : d.downstream) {
    downstream.push_back(name_of(report.names, index));
  }
  return {{"schema", kSchemaVersion},
          {"version", kVersion},
          {"mode", "reconcile"},
          {"dry_run", report.dry_run},
          {"uplinks", uplinks_json(d, report.sysctls)},
          {"missing_uplinks", d.missing_uplinks},
          {"uplink_candidates", candidates_json(d)},
          {"sysctls", sysctls_json(report.sysctls, "all")},
          {"downstream", downstream},
          {"added", entry_list(report.plan.add, d, report.names)},
          {"removed", entry_list(report.plan.remove, d, report.names)},
          {"kept", entry_list(report.plan.keep, d, report.names)},
          {"foreign", foreign_json(d, report.names)},
          {"skipped", skipped_json(d, report.names)},
          {"capped_macs", capped_macs_json(d, report.names)},
          {"errors", failures_json(report.failures)}};
}

std::string report_text(const ReconcileReport& report) {
  const auto& d = report.decision;
  std::ostringstream out;
  const char* would = report.dry_run ? "would be " : "";
  uplinks_text(report, out);
  for (const auto& s : report.sysctls) {
    if (!s.set.empty()) {
      out << "sysctl " << s.key.to_string() << ": " << s.found << " -> " << s.set << " ("
          << s.reason << ")" << (report.dry_run ? " [dry run]" : "") << "\n";
    }
  }
  const auto list = [&](const char* verb, const std::vector<ProxyEntry>& entries) {
    for (const auto& e : entries) {
      out << verb << " " << e.address.to_string() << " on " << name_of(report.names, e.ifindex);
      if (const auto it = d.desired.find({e.ifindex, e.address}); it != d.desired.end()) {
        const auto where = name_of(report.names, it->second.source_ifindex);
        out << " (" << to_string(it->second.source) << (where.empty() ? "" : " on " + where) << ")";
      }
      out << "\n";
    }
  };
  list(report.dry_run ? "would add" : "added", report.plan.add);
  list(report.dry_run ? "would remove" : "removed", report.plan.remove);
  for (const auto& e : d.foreign) {
    out << "foreign " << e.address.to_string() << " on " << name_of(report.names, e.ifindex)
        << " (proto " << int(e.protocol) << ", not ours: left alone)\n";
  }
  skipped_text(d, report.names, out);
  for (const auto& f : report.failures) {
    out << "error: " << f.operation << " " << f.target << ": " << f.status.message << "\n";
  }
  out << report.plan.add.size() << " " << would << "added, " << report.plan.remove.size() << " "
      << would << "removed, " << report.plan.keep.size() << " kept, " << d.foreign.size()
      << " foreign, " << d.skipped.size() << " skipped\n";
  return out.str();
}

}  // namespace ndpsync
