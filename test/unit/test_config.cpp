#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include "catch2_compat.hpp"

#include "ndpsync/config.hpp"

using ndpsync::Config;
using ndpsync::ConfigError;
using ndpsync::parse_config;
using ndpsync::testing::HasSubstring;

TEST_CASE("an empty config gives the documented defaults") {
  const auto config = parse_config("{}");
  CHECK(config.uplinks.empty());
  CHECK(config.downstream.empty());
  CHECK(config.prefixes.empty());
  CHECK(config.manage_sysctls);
  CHECK(config.proxy_delay_ms == 0U);
  CHECK(config.owner_protocol == 176);
  CHECK(config.status_socket == "/run/ndpsync/status.sock");
  CHECK(config.metrics_file.empty());  // no metrics unless asked for
  CHECK(config.resync_interval.count() == 60);
  CHECK(config.liveness_timeout.count() == 30);
  CHECK_FALSE(config.remove_on_exit);
}

TEST_CASE("the key table is the one source of defaults, and config-keys shows them") {
  CHECK(Config{} == parse_config("{}"));
  CHECK(Config{}.max_entries == 4096);
  CHECK(Config{}.max_entries_per_interface == 1024);
  CHECK(Config{}.max_entries_per_mac == 64);
  CHECK(Config{}.uplink_probe.count() == 0);
  CHECK(Config{}.verify_neighbours);
  CHECK(Config{}.status_socket_mode == 0600);
  CHECK(Config{}.status_socket_group.empty());
  CHECK(Config{}.netlink_rcvbuf == 8U << 20U);
  CHECK(Config{}.log_level == "info");
  CHECK_FALSE(Config{}.dry_run);
  CHECK_FALSE(Config{}.json);
  // Each default as shown, written back into a config file, gives the default config.
  for (const auto& key : ndpsync::config_keys()) {
    INFO(key.name << " = " << key.default_value);
    CHECK_FALSE(key.type.empty());
    CHECK_FALSE(key.meaning.empty());
    std::string value = key.default_value;
    if (value == "detected") value = "[]";
    if (value == "none") value = "\"\"";
    CHECK(parse_config("{\"" + key.name + "\": " + value + "}") == Config{});
  }
}

TEST_CASE("every key parses, and comments are allowed") {
  const auto config = parse_config(R"({
    // the provider's uplink
    "uplinks": ["eth0"],
    "downstream": ["veth*", "lxcbr0"],  /* globs */
    "prefixes": ["2001:db8:0:1::/64"],
    "deny": ["2001:db8:0:1::ff:0/112"],
    "state_dir": "/srv/ndpsync",
    "interface_prefixes": {"vc1": ["2001:db8:0:1::1:0/112"]},
    "max_entries": 100,
    "max_entries_per_interface": 10,
    "max_entries_per_mac": 5,
    "uplink_probe_ms": 1000,
    "dad_snooping": false,
    "dad_snoop_delay_ms": 2000,
    "on_demand": false,
    "on_demand_rate": 7,
    "unsolicited_na": false,
    "manage_sysctls": false,
    "proxy_delay_ms": null,
    "owner_protocol": 200,
    "verify_neighbours": false,
    "status_socket": "/tmp/x.sock",
    "status_socket_mode": "0660",
    "status_socket_group": "adm",
    "run_as": "ndpsync",
    "resync_interval": 5,
    "metrics_file": "/var/lib/node-exporter/ndpsync.prom",
    "liveness_timeout": 7,
    "netlink_rcvbuf": 65536,
    "remove_on_exit": true,
    "log_level": "debug",
    "dry_run": true,
    "json": true
  })");
  CHECK(config.uplinks == std::vector<std::string>{"eth0"});
  CHECK(config.downstream.size() == 2);
  CHECK(config.prefixes.at(0).to_string() == "2001:db8:0:1::/64");
  CHECK(config.deny.size() == 1);
  CHECK(config.interface_prefixes.at("vc1").at(0).to_string() == "2001:db8:0:1::1:0/112");
  CHECK(config.max_entries == 100);
  CHECK(config.max_entries_per_interface == 10);
  CHECK(config.max_entries_per_mac == 5);
  CHECK(config.uplink_probe.count() == 1000);
  CHECK_FALSE(config.dad_snooping);
  CHECK(config.dad_snoop_delay.count() == 2000);
  CHECK_FALSE(config.on_demand);
  CHECK(config.on_demand_rate == 7);
  CHECK_FALSE(config.unsolicited_na);
  CHECK_FALSE(config.manage_sysctls);
  CHECK_FALSE(config.proxy_delay_ms.has_value());
  CHECK(config.owner_protocol == 200);
  CHECK_FALSE(config.verify_neighbours);
  CHECK(config.status_socket_mode == 0660);
  CHECK(config.resync_interval.count() == 5);
  CHECK(config.metrics_file == "/var/lib/node-exporter/ndpsync.prom");
  CHECK(config.liveness_timeout.count() == 7);
  CHECK(config.netlink_rcvbuf == 65536);
  CHECK(config.remove_on_exit);
  CHECK(config.run_as == "ndpsync");
  CHECK(config.dry_run);
  CHECK(config.json);
  // Every key of the table is exercised above.
  CHECK(config.state_dir == std::optional<std::string>("/srv/ndpsync"));
  CHECK(ndpsync::config_keys().size() == 33);
}

TEST_CASE("config errors name the key") {
  struct Case {
    const char* description;
    const char* text;
    const char* expected;
  };
  const Case cases[] = {
      {.description = "unknown key",
       .text = R"({"uplink": ["eth0"]})",
       .expected = "'uplink': unknown key"},
      {.description = "wrong type",
       .text = R"({"uplinks": "eth0"})",
       .expected = "'uplinks': expected a list"},
      {.description = "bad list element",
       .text = R"({"prefixes": ["2001:db8::/64", "nope"]})",
       .expected = "'prefixes[1]': not an IPv6 prefix"},
      {.description = "prefix without length",
       .text = R"({"prefixes": ["2001:db8::"]})",
       .expected = "'prefixes[0]'"},
      {.description = "out of range",
       .text = R"({"owner_protocol": 0})",
       .expected = "'owner_protocol': must be between 1 and 255"},
      {.description = "negative",
       .text = R"({"resync_interval": -5})",
       .expected = "'resync_interval': must be at least 1"},
      {.description = "float for integer",
       .text = R"({"max_entries": 1.5})",
       .expected = "'max_entries': expected an integer"},
      {.description = "a per-MAC cap of zero",
       .text = R"({"max_entries_per_mac": 0})",
       .expected = "'max_entries_per_mac': must be between 1 and 1000000, got 0"},
      {.description = "bool",
       .text = R"({"manage_sysctls": "yes"})",
       .expected = "'manage_sysctls': expected true or false"},
      {.description = "nested",
       .text = R"({"interface_prefixes": {"vc1": ["x"]}})",
       .expected = "'interface_prefixes.vc1[0]'"},
      {.description = "relative socket",
       .text = R"({"status_socket": "run/x"})",
       .expected = "'status_socket': must be an absolute path"},
      {.description = "relative metrics file",
       .text = R"({"metrics_file": "ndpsync.prom"})",
       .expected = "'metrics_file': must be an absolute path to a file, got 'ndpsync.prom'"},
      {.description = "metrics file that is a directory",
       .text = R"({"metrics_file": "/var/lib/node-exporter/"})",
       .expected = "'metrics_file': must be an absolute path to a file"},
      {.description = "socket mode",
       .text = R"({"status_socket_mode": "0666"})",
       .expected = "'status_socket_mode'"},
      {.description = "log level", .text = R"({"log_level": "loud"})", .expected = "'log_level'"},
      {.description = "uplink also downstream",
       .text = R"({"uplinks": ["eth0"], "downstream": ["eth*"]})",
       .expected = "'downstream': matches uplink 'eth0'"},
      {.description = "binding outside prefixes",
       .text = R"({"prefixes": ["2001:db8:0:1::/64"],
                   "interface_prefixes": {"vc1": ["2001:db8:0:2::/112"]}})",
       .expected = "'interface_prefixes.vc1'"},
      {.description = "deny covers a prefix",
       .text = R"({"prefixes": ["2001:db8:0:1::/64"], "deny": ["2001:db8::/32"]})",
       .expected = "'deny'"},
      {.description = "group without 0660",
       .text = R"({"status_socket_group": "adm"})",
       .expected = "'status_socket_group'"},
      {.description = "not an object", .text = R"(["eth0"])", .expected = "must be a JSON object"},
      {.description = "syntax", .text = R"({"uplinks": [)", .expected = "not valid JSON"},
      {.description = "a number out of any range (found by fuzzing)",
       .text = "9E999919}3",
       .expected = "not valid JSON"},
      {.description = "huge integer",
       .text = R"({"max_entries": 184467440737095516150})",
       .expected = "'max_entries'"},
  };
  for (const auto& c : cases) {
    INFO(c.description);
    CHECK_THROWS_WITH(parse_config(c.text), HasSubstring(c.expected));
  }
}

TEST_CASE("a missing config file is a config error") {
  CHECK_THROWS_AS(ndpsync::load_config_file("/nonexistent/ndpsync.json"), ConfigError);
}

TEST_CASE("globs match interface names") {
  CHECK(ndpsync::matches_any({"veth*"}, "veth1234"));
  CHECK(ndpsync::matches_any({"lxcbr0", "vc?"}, "vc1"));
  CHECK_FALSE(ndpsync::matches_any({"veth*"}, "eth0"));
  CHECK_FALSE(ndpsync::matches_any({}, "eth0"));
}

TEST_CASE("the agent refuses a config that asks for a dry run") {
  CHECK_NOTHROW(parse_config(R"({"dry_run": false})").validate_for_agent());
  const auto config = parse_config(R"({"dry_run": true})");  // fine for `reconcile`
  try {
    config.validate_for_agent();
    FAIL("dry_run was accepted for the agent");
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    CHECK(what.find("'dry_run'") != std::string::npos);
    CHECK(what.find("ndpsync reconcile --dry-run") != std::string::npos);
  }
}

TEST_CASE("the agent refuses a group or a user this host does not have (and so check-config)") {
  struct Case {
    const char* description;
    const char* text;
    const char* expected;  // "" : accepted
  };
  const std::vector<Case> cases = {
      {.description = "the defaults (run_as nobody)", .text = "{}", .expected = ""},
      {.description = "an existing group",
       .text = R"({"status_socket_mode": "0660", "status_socket_group": "root"})",
       .expected = ""},
      {.description = "a group nobody created",
       .text = R"({"status_socket_mode": "0660", "status_socket_group": "ndpsync-no-such-group"})",
       .expected = "'status_socket_group': no group 'ndpsync-no-such-group'"},
      {.description = "root", .text = R"({"run_as": "root"})", .expected = ""},
      {.description = "a user nobody created",
       .text = R"({"run_as": "ndpsync-no-such-user"})",
       .expected = "'run_as': no user 'ndpsync-no-such-user'"},
  };
  for (const auto& c : cases) {
    INFO(c.description);
    const auto config = parse_config(c.text);  // parsing alone accepts every one of them
    if (std::string_view(c.expected).empty()) {
      CHECK_NOTHROW(config.validate_for_agent());
    } else {
      CHECK_THROWS_WITH(config.validate_for_agent(), HasSubstring(c.expected));
    }
  }
  CHECK_THROWS_WITH(parse_config(R"({"run_as": ""})"), HasSubstring("'run_as'"));
  CHECK_THROWS_WITH(parse_config(R"({"state_dir": "var/lib/ndpsync"})").validate(),
                    HasSubstring("'state_dir': must be an absolute path"));
  CHECK(Config{}.run_as == "nobody");
}

// --- the config file: default path, --config, NDPSYNC_CONFIG, the shipped default ---

namespace {

std::string read_text(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// A scratch directory removed at scope exit.
struct ScratchDir {
  std::filesystem::path path;
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ndpsync-cfg-XXXXXX").string();
    path = ::mkdtemp(pattern.data());
  }
  ~ScratchDir() { std::filesystem::remove_all(path); }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  [[nodiscard]] std::string write(const std::string& name, const std::string& text) const {
    const auto file = path / name;
    std::ofstream(file) << text;
    return file.string();
  }
};

}  // namespace

TEST_CASE("the default config file is read when it exists; --config must exist") {
  using ndpsync::ConfigFileRequirement;
  const ScratchDir dir;
  const auto missing = (dir.path / "absent.json").string();

  SECTION("an absent default file means the built-in defaults") {
    const auto loaded = ndpsync::load_config({.path = missing});
    CHECK_FALSE(loaded.file.has_value());
    CHECK(loaded.config.max_entries == Config{}.max_entries);
  }
  SECTION("a file named on the command line must exist") {
    CHECK_THROWS_WITH(
        ndpsync::load_config({.path = missing, .requirement = ConfigFileRequirement::kRequired}),
        HasSubstring("does not exist"));
  }
  SECTION("an existing default file is read, and errors name the file and the key") {
    const auto good = dir.write("good.json", R"({"max_entries": 7 /* few */})");
    const auto loaded = ndpsync::load_config({.path = good});
    CHECK(loaded.file == good);
    CHECK(loaded.config.max_entries == 7);
    const auto bad = dir.write("bad.json", R"({"max_entries": 0})");
    CHECK_THROWS_WITH(ndpsync::load_config({.path = bad}),
                      HasSubstring(bad) && HasSubstring("'max_entries'"));
  }
  SECTION("a directory is not a config file, even as the default") {
    CHECK_THROWS_WITH(ndpsync::load_config({.path = dir.path.string()}),
                      HasSubstring("is a directory"));
  }
}

TEST_CASE("which file: --config; else NDPSYNC_CONFIG; else the build default") {
  using ndpsync::ConfigFileRequirement;
  ::unsetenv("NDPSYNC_CONFIG");
  const auto plain = ndpsync::choose_config_file("");
  CHECK(plain.path == ndpsync::default_config_path());
  CHECK(plain.path == "/etc/ndpsync/ndpsync.json");
  CHECK(plain.requirement == ConfigFileRequirement::kOptional);

  ::setenv("NDPSYNC_CONFIG", "/tmp/elsewhere.json", 1);
  const auto overridden = ndpsync::choose_config_file("");
  CHECK(overridden.path == "/tmp/elsewhere.json");
  CHECK(overridden.requirement == ConfigFileRequirement::kOptional);
  const auto named = ndpsync::choose_config_file("/srv/mine.json");
  CHECK(named.path == "/srv/mine.json");
  CHECK(named.requirement == ConfigFileRequirement::kRequired);
  ::unsetenv("NDPSYNC_CONFIG");
}

TEST_CASE("the shipped packaging/ndpsync.json is the defaults and valid with every key set") {
  const auto text = read_text(NDPSYNC_SOURCE_DIR "/packaging/ndpsync.json");
  REQUIRE_FALSE(text.empty());
  const auto shipped = parse_config(text);
  CHECK(shipped.uplinks.empty());
  CHECK(shipped.max_entries == Config{}.max_entries);
  CHECK(shipped.status_socket == Config{}.status_socket);

  // Uncomment every `// "key": value` line: the examples themselves must be valid.
  std::string uncommented;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const auto at = line.find("// \"");
    if (at != std::string::npos && line.find_first_not_of(' ') == at) line.erase(at, 3);
    uncommented += line + "\n";
  }
  const auto all = parse_config(uncommented);
  CHECK(all.uplinks == std::vector<std::string>{"eth0"});
  CHECK(all.max_entries == Config{}.max_entries);
  CHECK(all.log_level == "info");
}
