// Config: parsed through the one table of keys (config_keys.cpp), loaded from its file, validated.
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
#include <sstream>

#include "config_keys.hpp"

namespace ndpsync {

using config_detail::fail;
using config_detail::json;
using config_detail::key_table;
using config_detail::KeySpec;
using config_detail::type_name;

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

std::string journal_file(const Config& config) {
  std::string dir;
  if (config.state_dir) {
    dir = *config.state_dir;
  } else if (const char* systemd = std::getenv("STATE_DIRECTORY"); systemd != nullptr && *systemd) {
    dir = std::string(systemd).substr(0, std::string(systemd).find(':'));  // the first of a list
  } else {
    dir = "/var/lib/ndpsync";
  }
  return dir.empty() ? dir : dir + "/sysctls-found";
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
  if (state_dir && !state_dir->empty() && state_dir->front() != '/') {
    fail("state_dir", "must be an absolute path or \"\", got '" + *state_dir + "'");
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
