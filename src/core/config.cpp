#include "ndpsync/config.hpp"

#include <fnmatch.h>
#include <grp.h>
#include <pwd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

namespace ndpsync {
namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw ConfigError("config key '" + path + "': " + what);
}

std::string type_name(const json& value) { return value.type_name(); }

bool as_bool(const json& value, const std::string& path) {
  if (!value.is_boolean()) fail(path, "expected true or false, got " + type_name(value));
  return value.get<bool>();
}

std::uint64_t as_uint(const json& value, const std::string& path, std::uint64_t min,
                      std::uint64_t max) {
  if (!value.is_number_integer()) fail(path, "expected an integer, got " + type_name(value));
  if (value.is_number_integer() && !value.is_number_unsigned() && value.get<std::int64_t>() < 0) {
    fail(path, "must be at least " + std::to_string(min));
  }
  const auto number = value.get<std::uint64_t>();
  if (number < min || number > max) {
    fail(path, "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " +
                   std::to_string(number));
  }
  return number;
}

std::string as_string(const json& value, const std::string& path) {
  if (!value.is_string()) fail(path, "expected a string, got " + type_name(value));
  return value.get<std::string>();
}

std::string as_interface_pattern(const json& value, const std::string& path) {
  auto name = as_string(value, path);
  // IFNAMSIZ - 1; a glob may be longer only through '*', which we still cap for sanity.
  if (name.empty() || name.size() > 64 || name.find('/') != std::string::npos) {
    fail(path, "not an interface name or glob: '" + name + "'");
  }
  return name;
}

Prefix as_prefix(const json& value, const std::string& path) {
  const auto text = as_string(value, path);
  const auto prefix = Prefix::parse(text);
  if (!prefix) fail(path, "not an IPv6 prefix (ADDR/LEN): '" + text + "'");
  return *prefix;
}

Ipv6Address as_address(const json& value, const std::string& path) {
  const auto text = as_string(value, path);
  const auto address = Ipv6Address::parse(text);
  if (!address) fail(path, "not an IPv6 address: '" + text + "'");
  return *address;
}

// An uplink named as an object's key: an interface name, not a glob.
void check_uplink_name(const std::string& name, const std::string& path) {
  as_interface_pattern(json(name), path);
  if (name.find_first_of("*?[") != std::string::npos) {
    fail(path, "an uplink's name, not a glob: '" + name + "'");
  }
}

template <typename T, typename F>
std::vector<T> as_list(const json& value, const std::string& path, F element) {
  if (!value.is_array()) fail(path, "expected a list, got " + type_name(value));
  std::vector<T> out;
  for (std::size_t i = 0; i < value.size(); ++i) {
    out.push_back(element(value[i], path + "[" + std::to_string(i) + "]"));
  }
  return out;
}

struct KeySpec {
  const char* name;
  const char* type;
  json initial;       // the default, as a config file would spell it
  const char* shown;  // the default for people, when the JSON says too little; nullptr: `initial`
  const char* meaning;
  std::function<void(Config&, const json&, const std::string&)> set;
};

// The one table of keys: name, type, default and meaning. Config's constructor applies every
// default through `set`, so a default lives here and nowhere else. A data table: long by nature.
const std::vector<KeySpec>& key_table() {
  static const std::vector<KeySpec> table = {
      {"uplinks", "list of interface names", json::array(), "detected",
       "interfaces that get proxy entries; detected: those of the IPv6 default routes",
       [](Config& c, const json& v, const std::string& p) {
         c.uplinks = as_list<std::string>(v, p, as_interface_pattern);
       }},
      {"downstream", "list of interface names or globs", json::array(), "detected",
       "interfaces whose addresses, neighbours and /128 routes are mirrored; detected: veth, "
       "bridge and lo",
       [](Config& c, const json& v, const std::string& p) {
         c.downstream = as_list<std::string>(v, p, as_interface_pattern);
       }},
      {"prefixes", "list of IPv6 prefixes", json::array(), "detected",
       "only addresses inside these are proxied; detected: the uplinks' on-link prefixes",
       [](Config& c, const json& v, const std::string& p) {
         c.prefixes = as_list<Prefix>(v, p, as_prefix);
       }},
      {"uplink_prefixes", "object: uplink name → list of IPv6 prefixes", json::object(), nullptr,
       "an uplink's own prefixes, in place of `prefixes` there: each address is claimed only on "
       "the uplinks whose prefixes contain it",
       [](Config& c, const json& v, const std::string& p) {
         if (!v.is_object()) fail(p, "expected an object, got " + type_name(v));
         c.uplink_prefixes.clear();
         for (const auto& [name, prefixes] : v.items()) {
           const auto path = p + "." + name;
           check_uplink_name(name, path);
           c.uplink_prefixes[name] = as_list<Prefix>(prefixes, path, as_prefix);
           if (c.uplink_prefixes[name].empty()) fail(path, "lists no prefix");
         }
       }},
      {"static", "object: uplink name → list of IPv6 addresses", json::object(), nullptr,
       "addresses claimed on that uplink although no event reveals them (guards still apply)",
       [](Config& c, const json& v, const std::string& p) {
         if (!v.is_object()) fail(p, "expected an object, got " + type_name(v));
         c.static_addresses.clear();
         for (const auto& [name, addresses] : v.items()) {
           const auto path = p + "." + name;
           check_uplink_name(name, path);
           c.static_addresses[name] = as_list<Ipv6Address>(addresses, path, as_address);
         }
       }},
      {"deny", "list of IPv6 prefixes", json::array(), nullptr, "addresses never proxied",
       [](Config& c, const json& v, const std::string& p) {
         c.deny = as_list<Prefix>(v, p, as_prefix);
       }},
      {"interface_prefixes", "object: interface name or glob → list of IPv6 prefixes",
       json::object(), nullptr, "binds a downstream interface to the prefixes it may claim",
       [](Config& c, const json& v, const std::string& p) {
         if (!v.is_object()) fail(p, "expected an object, got " + type_name(v));
         c.interface_prefixes.clear();
         for (const auto& [name, prefixes] : v.items()) {
           const auto path = p + "." + name;
           as_interface_pattern(json(name), path);
           c.interface_prefixes[name] = as_list<Prefix>(prefixes, path, as_prefix);
         }
       }},
      {"max_entries", "integer 1..1000000", 4096, nullptr, "entries in total; more are skipped",
       [](Config& c, const json& v, const std::string& p) {
         c.max_entries = as_uint(v, p, 1, 1000000);
       }},
      {"max_entries_per_interface", "integer 1..1000000", 1024, nullptr,
       "entries per downstream interface; more are skipped",
       [](Config& c, const json& v, const std::string& p) {
         c.max_entries_per_interface = as_uint(v, p, 1, 1000000);
       }},
      {"max_entries_per_mac", "integer 1..1000000", 64, nullptr,
       "addresses one neighbour MAC may claim on a shared downstream interface; more are skipped",
       [](Config& c, const json& v, const std::string& p) {
         c.max_entries_per_mac = as_uint(v, p, 1, 1000000);
       }},
      {"uplink_probe_ms", "integer 0..10000", 0, nullptr,
       "agent: ask the uplink whether another node uses an address before its first claim",
       [](Config& c, const json& v, const std::string& p) {
         c.uplink_probe = std::chrono::milliseconds(as_uint(v, p, 0, 10000));
       }},
      {"dad_snooping", "boolean", true, nullptr,
       "agent: follow up the DAD probes of new addresses on downstream interfaces",
       [](Config& c, const json& v, const std::string& p) { c.dad_snooping = as_bool(v, p); }},
      {"dad_snoop_delay_ms", "integer 100..10000", 1050, nullptr,
       "agent: how long after a DAD probe the address is probed",
       [](Config& c, const json& v, const std::string& p) {
         c.dad_snoop_delay = std::chrono::milliseconds(as_uint(v, p, 100, 10000));
       }},
      {"on_demand", "boolean", true, nullptr,
       "agent: probe downstream for addresses a router solicits on an uplink that we do not proxy",
       [](Config& c, const json& v, const std::string& p) { c.on_demand = as_bool(v, p); }},
      {"on_demand_rate", "integer 1..10000", 100, nullptr,
       "agent: on-demand probes a second at most (a scan from outside stays within it)",
       [](Config& c, const json& v, const std::string& p) {
         c.on_demand_rate = static_cast<unsigned>(as_uint(v, p, 1, 10000));
       }},
      {"unsolicited_na", "boolean", true, nullptr,
       "agent: advertise each new claim on the uplink, so routers that cached it elsewhere follow",
       [](Config& c, const json& v, const std::string& p) { c.unsolicited_na = as_bool(v, p); }},
      {"manage_sysctls", "boolean", true, nullptr, "set accept_ra, proxy_ndp and forwarding",
       [](Config& c, const json& v, const std::string& p) { c.manage_sysctls = as_bool(v, p); }},
      {"proxy_delay_ms", "integer 0..10000, or null", 0, nullptr,
       "the uplink's proxy_delay; null leaves the kernel's value",
       [](Config& c, const json& v, const std::string& p) {
         if (v.is_null()) {
           c.proxy_delay_ms.reset();
         } else {
           c.proxy_delay_ms = static_cast<unsigned>(as_uint(v, p, 0, 10000));
         }
       }},
      {"owner_protocol", "integer 1..255", kDefaultOwnerProtocol, nullptr,
       "NDA_PROTOCOL tag on our entries; only those are ever changed",
       [](Config& c, const json& v, const std::string& p) {
         c.owner_protocol = static_cast<std::uint8_t>(as_uint(v, p, 1, 255));
       }},
      {"verify_neighbours", "boolean", true, nullptr,
       "probe a neighbour the kernel no longer vouches for before claiming or withdrawing it",
       [](Config& c, const json& v, const std::string& p) { c.verify_neighbours = as_bool(v, p); }},
      {"status_socket", "absolute path", "/run/ndpsync/status.sock", nullptr,
       "the agent's status socket",
       [](Config& c, const json& v, const std::string& p) { c.status_socket = as_string(v, p); }},
      {"status_socket_mode", "\"0600\" or \"0660\"", "0600", nullptr,
       "mode the status socket is created with",
       [](Config& c, const json& v, const std::string& p) {
         const auto text = as_string(v, p);
         if (text != "0600" && text != "0660") {
           fail(p, "must be \"0600\" or \"0660\", got '" + text + "'");
         }
         c.status_socket_mode = text == "0600" ? 0600 : 0660;
       }},
      {"status_socket_group", "group name", "", "none",
       "group of the status socket (needs \"0660\"); none: root's",
       [](Config& c, const json& v, const std::string& p) {
         c.status_socket_group = as_string(v, p);
       }},
      {"run_as", "user name", "nobody", nullptr,
       "started as root, the agent runs as this user once its sockets are open, with "
       "CAP_NET_ADMIN alone; \"root\" keeps uid 0 (not under systemd, which starts it "
       "unprivileged)",
       [](Config& c, const json& v, const std::string& p) {
         c.run_as = as_string(v, p);
         if (c.run_as.empty()) fail(p, "must name a user (\"root\" to keep uid 0)");
       }},
      {"resync_interval", "seconds, 1..86400", 60, nullptr,
       "how often the agent re-reads everything and repairs drift",
       [](Config& c, const json& v, const std::string& p) {
         c.resync_interval = std::chrono::seconds(as_uint(v, p, 1, 86400));
       }},
      {"metrics_file", "absolute path", "", "none",
       "Prometheus metrics for node_exporter's textfile collector (docs/metrics.md); none: off",
       [](Config& c, const json& v, const std::string& p) { c.metrics_file = as_string(v, p); }},
      {"liveness_timeout", "seconds, 1..3600", 30, nullptr,
       "how long a vanished neighbour stays claimed while it is verified",
       [](Config& c, const json& v, const std::string& p) {
         c.liveness_timeout = std::chrono::seconds(as_uint(v, p, 1, 3600));
       }},
      {"netlink_rcvbuf", "bytes, 4096..1073741824", 8U << 20U, nullptr,
       "receive buffer of the agent's event socket",
       [](Config& c, const json& v, const std::string& p) {
         c.netlink_rcvbuf = as_uint(v, p, 4096, 1U << 30U);
       }},
      {"remove_on_exit", "boolean", false, nullptr, "the agent removes its entries when stopped",
       [](Config& c, const json& v, const std::string& p) { c.remove_on_exit = as_bool(v, p); }},
      {"log_level", "trace, debug, info, warn, error", "info", nullptr, "what is logged",
       [](Config& c, const json& v, const std::string& p) {
         c.log_level = as_string(v, p);
         static const std::vector<std::string> levels = {"trace", "debug", "info", "warn", "error"};
         if (std::find(levels.begin(), levels.end(), c.log_level) == levels.end()) {
           fail(p, "must be one of trace, debug, info, warn, error; got '" + c.log_level + "'");
         }
       }},
      {"dry_run", "boolean", false, nullptr,
       "reconcile only: change nothing, print what would change",
       [](Config& c, const json& v, const std::string& p) { c.dry_run = as_bool(v, p); }},
      {"json", "boolean", false, nullptr, "reconcile and status: print one JSON document",
       [](Config& c, const json& v, const std::string& p) { c.json = as_bool(v, p); }},
  };
  return table;
}

}  // namespace

Config parse_config(std::string_view text) {
  json document;
  try {
    document = json::parse(text.begin(), text.end(), nullptr, true, /*ignore_comments=*/true);
  } catch (const json::exception& e) {
    // parse_error, and out_of_range for numbers like 9E999 (found by fuzz_config).
    throw ConfigError(std::string("config is not valid JSON: ") + e.what());
  }
  if (!document.is_object()) {
    throw ConfigError("config must be a JSON object, got " + type_name(document));
  }
  Config config;
  for (const auto& item : document.items()) {
    const std::string& key = item.key();
    const auto& table = key_table();
    const auto spec = std::find_if(table.begin(), table.end(),
                                   [&key](const KeySpec& s) { return key == s.name; });
    if (spec == table.end()) {
      fail(key, "unknown key");
    }
    spec->set(config, item.value(), key);
  }
  config.validate();
  return config;
}

Config load_config_file(const std::string& path) {
  errno = 0;
  std::ifstream file(path);
  if (!file) {
    const int error = errno;
    throw ConfigError("cannot read config file '" + path + "'" +
                      (error != 0 ? std::string(": ") + std::strerror(error) : std::string()));
  }
  std::stringstream text;
  text << file.rdbuf();
  try {
    auto config = parse_config(text.str());
    config.origin_file = path;
    config.origin_digest = config_digest(text.str());
    return config;
  } catch (const ConfigError& e) {
    throw ConfigError(path + ": " + e.what());
  }
}

std::string config_digest(std::string_view bytes) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (const char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

std::string default_config_path() { return NDPSYNC_CONFIG_FILE; }

ConfigFileChoice choose_config_file(const std::string& named) {
  if (!named.empty()) return {.path = named, .requirement = ConfigFileRequirement::kRequired};
  const char* override_path = std::getenv("NDPSYNC_CONFIG");
  if (override_path != nullptr && *override_path != '\0') return {.path = override_path};
  return {.path = default_config_path()};
}

LoadedConfig load_config(const ConfigFileChoice& choice) {
  std::error_code error;
  const auto status = std::filesystem::status(choice.path, error);
  if (status.type() == std::filesystem::file_type::not_found &&
      choice.requirement == ConfigFileRequirement::kOptional) {
    return {.config = Config{}, .file = std::nullopt};
  }
  if (status.type() == std::filesystem::file_type::not_found) {
    throw ConfigError("cannot read config file '" + choice.path + "': it does not exist");
  }
  if (status.type() == std::filesystem::file_type::directory) {
    throw ConfigError("config file '" + choice.path + "' is a directory");
  }
  return {.config = load_config_file(choice.path), .file = choice.path};
}

void Config::validate() const {
  // Here rather than in the key table, so that --status-socket is held to it too.
  if (status_socket.empty() || status_socket.front() != '/') {
    fail("status_socket", "must be an absolute path, got '" + status_socket + "'");
  }
  if (status_socket.size() >= 108) {
    fail("status_socket", "longer than a Unix socket path may be");
  }
  // Here too, so that --metrics-file is held to it.
  if (!metrics_file.empty() && (metrics_file.front() != '/' || metrics_file.back() == '/')) {
    fail("metrics_file", "must be an absolute path to a file, got '" + metrics_file + "'");
  }
  for (const auto& uplink : uplinks) {
    if (matches_any(downstream, uplink)) {
      fail("downstream", "matches uplink '" + uplink + "': an interface cannot be both");
    }
  }
  // Keyed by uplink: with uplinks named, a key that names none of them is a typo.
  const auto check_uplink_keys = [this](const char* key, const auto& map) {
    for (const auto& [name, unused] : map) {
      if (!uplinks.empty() && std::find(uplinks.begin(), uplinks.end(), name) == uplinks.end()) {
        fail(std::string(key) + "." + name, "not one of the configured uplinks");
      }
    }
  };
  check_uplink_keys("uplink_prefixes", uplink_prefixes);
  check_uplink_keys("static", static_addresses);
  std::vector<Prefix> configured = prefixes;
  for (const auto& [name, list] : uplink_prefixes) {
    configured.insert(configured.end(), list.begin(), list.end());
  }
  for (const auto& [pattern, allowed] : interface_prefixes) {
    for (const auto& prefix : allowed) {
      const bool inside =
          configured.empty() || std::any_of(configured.begin(), configured.end(),
                                            [&](const Prefix& p) { return p.contains(prefix); });
      if (!inside) {
        fail("interface_prefixes." + pattern,
             prefix.to_string() + " is outside every configured prefix");
      }
    }
  }
  for (const auto& prefix : configured) {
    for (const auto& denied : deny) {
      if (denied.contains(prefix)) {
        fail("deny", denied.to_string() + " denies all of prefix " + prefix.to_string());
      }
    }
  }
  if (!status_socket_group.empty() && status_socket_mode != 0660) {
    fail("status_socket_group", "a group needs status_socket_mode \"0660\"");
  }
}

void Config::validate_for_agent() const {
  if (dry_run) {
    fail("dry_run",
         "is for `ndpsync reconcile` only; the agent always writes to the kernel. "
         "Remove the key, and use `ndpsync reconcile --dry-run` to see what would change");
  }
  // Names the agent resolves at start: `check-config` (systemd's ExecReload) must refuse what
  // the next start would refuse.
  if (!status_socket_group.empty() && ::getgrnam(status_socket_group.c_str()) == nullptr) {
    fail("status_socket_group", "no group '" + status_socket_group + "' on this host");
  }
  if (::getpwnam(run_as.c_str()) == nullptr) {
    fail("run_as", "no user '" + run_as + "' on this host");
  }
}

bool matches_any(const std::vector<std::string>& patterns, std::string_view name) {
  const std::string subject(name);
  return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& pattern) {
    return fnmatch(pattern.c_str(), subject.c_str(), 0) == 0;
  });
}

Config::Config() {
  for (const auto& spec : key_table()) spec.set(*this, spec.initial, spec.name);
}

std::vector<ConfigKey> config_keys() {
  std::vector<ConfigKey> keys;
  for (const auto& spec : key_table()) {
    keys.push_back({.name = spec.name,
                    .type = spec.type,
                    .default_value = spec.shown != nullptr ? spec.shown : spec.initial.dump(),
                    .meaning = spec.meaning});
  }
  return keys;
}

}  // namespace ndpsync
