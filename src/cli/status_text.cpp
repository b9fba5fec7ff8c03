#include "status_text.hpp"

#include "ndpsync/utf8.hpp"

#include <string>
#include <string_view>

namespace ndpsync::cli {
namespace {

using nlohmann::json;

// The value at `key`, or null when `object` is no object or has no such key.
const json& field(const json& object, std::string_view key) {
  static const json null;
  if (!object.is_object()) return null;
  const auto it = object.find(key);
  return it == object.end() ? null : *it;
}

// The list at `key`; an empty one when it is missing or not a list.
const json& list(const json& object, std::string_view key) {
  static const json empty = json::array();
  const auto& value = field(object, key);
  return value.is_array() ? value : empty;
}

std::string text(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  return value.is_null() ? "?" : json_text(value);
}

std::string text(const json& object, std::string_view key) { return text(field(object, key)); }

bool flag(const json& object, std::string_view key) {
  const auto& value = field(object, key);
  return value.is_boolean() && value.get<bool>();
}

void print_sysctls(const json& sysctls, std::ostream& out) {
  for (const auto& sc : sysctls) {
    const auto& set = field(sc, "set");
    out << "  " << text(sc, "key") << " = " << text(sc, "found")
        << (set.is_null() ? "" : " -> " + text(set)) << "\n";
  }
}

void print_head(const json& s, std::ostream& out) {
  out << "ndpsync " << text(s, "version") << " agent, pid " << text(s, "pid") << ", started "
      << text(s, "started") << ", last resync " << text(s, "last_resync") << ", owner protocol "
      << text(s, "owner_protocol") << "\n";
  for (const auto& u : list(s, "uplinks")) {
    out << "uplink " << text(u, "name") << ":";
    for (const auto& p : list(u, "prefixes")) out << " " << text(p);
    if (flag(u, "held")) out << " (no prefix yet: holding entries)";
    if (text(u, "source") == "slaac") {
      out << " (no default route: found from";
      for (const auto& e : list(u, "evidence")) out << " " << text(e);
      out << ")";
    }
    out << "\n";
    print_sysctls(list(u, "sysctls"), out);
  }
  for (const auto& name : list(s, "missing_uplinks")) {
    out << "uplink " << text(name) << ": configured but not present (nothing proxied on it)\n";
  }
  if (const auto& candidates = list(s, "uplink_candidates"); !candidates.empty()) {
    out << "no uplink: no IPv6 default route, and several interfaces look like the uplink:";
    for (const auto& c : candidates) out << " " << text(c, "name");
    out << " (configure \"uplinks\")\n";
  }
  print_sysctls(list(s, "sysctls"), out);
  out << "downstream:";
  for (const auto& d : list(s, "downstream")) out << " " << text(d);
  out << "\n";
}

void print_entries(const json& s, std::ostream& out) {
  const auto& entries = list(s, "entries");
  out << "entries (" << entries.size() << "):\n";
  for (const auto& e : entries) {
    // A static address has no interface.
    const auto where = text(e, "interface").empty() ? "" : " on " + text(e, "interface");
    out << "  " << text(e, "address") << " on " << text(e, "uplink") << "  (" << text(e, "source")
        << where << (field(e, "since").is_null() ? "" : ", since " + text(e, "since"))
        << (flag(e, "verifying") ? ", verifying" : "") << ")\n";
  }
  for (const auto& e : list(s, "foreign")) {
    out << "foreign " << text(e, "address") << " on " << text(e, "uplink") << " (proto "
        << text(e, "protocol") << ")\n";
  }
}

void print_others(const json& s, std::ostream& out) {
  for (const auto& e : list(s, "skipped")) {
    const auto reason = text(e, "reason");
    if (reason == "link-local" || reason == "multicast") continue;
    const auto where = text(e, "interface").empty() ? "" : " on " + text(e, "interface");
    out << "skipped " << text(e, "address") << where << ": " << reason << "\n";
  }
  for (const auto& e : list(s, "verifying")) {
    out << "verifying " << text(e, "address") << " on " << text(e, "interface") << "\n";
  }
  for (const auto& e : list(s, "withdrawn")) {
    out << "withdrawn " << text(e, "address") << " on " << text(e, "interface")
        << " (listed by the kernel, failed verification)\n";
  }
  for (const auto& e : list(s, "pending")) {
    out << "pending " << text(e, "operation") << " " << text(e, "address") << ": "
        << text(e, "error") << "\n";
  }
  out << "counters:";
  if (const auto& counters = field(s, "counters"); counters.is_object()) {
    for (const auto& [key, value] : counters.items()) out << " " << key << "=" << text(value);
  }
  out << "\n";
}

}  // namespace

void print_status(const json& status, std::ostream& out) {
  print_head(status, out);
  print_entries(status, out);
  print_others(status, out);
}

}  // namespace ndpsync::cli
