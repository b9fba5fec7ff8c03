// Typed configuration. Every key, its type, its default and its meaning live in one table
// (config.cpp); test/check_docs.sh holds docs/configuration.md to it. A config is built
// completely, then validated as a whole, before it replaces the one in use: a bad file never
// half-applies.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "ndpsync/types.hpp"

namespace ndpsync {

// Names the offending key path ("prefixes[1]") and what is wrong with it.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Registered in packaging/rt_protos.d/ndpsync.conf so that `ip -6 neigh show proxy` prints
// "proto ndpsync". 0xB0 is unused by iproute2's table and by the routing daemons we know of.
constexpr std::uint8_t kDefaultOwnerProtocol = 176;

struct Config {
  // Every key at its default, from the key table (config.cpp): defaults live there only.
  Config();

  // Selection. An empty list means "detect".
  std::vector<std::string> uplinks;
  std::vector<std::string> downstream;  // names or globs
  std::vector<Prefix> prefixes;
  // Per uplink, by name: its prefixes, in place of `prefixes` (and of detection) for that uplink.
  std::map<std::string, std::vector<Prefix>> uplink_prefixes;
  // Per uplink, by name: addresses claimed there although no event reveals them (a container
  // that never speaks). They pass the same guards as every other source.
  std::map<std::string, std::vector<Ipv6Address>> static_addresses;

  // Guards.
  std::vector<Prefix> deny;
  std::map<std::string, std::vector<Prefix>> interface_prefixes;  // name or glob -> allowed
  std::size_t max_entries{};
  std::size_t max_entries_per_interface{};
  // Per downstream interface other than a veth, per neighbour MAC: one tenant of a shared bridge
  // cannot fill the interface's cap. Capped at max_entries_per_interface.
  std::size_t max_entries_per_mac{};
  // Agent: before an address's first claim, solicit it on the uplink and wait this long for
  // another node to answer. Zero: claim at once.
  std::chrono::milliseconds uplink_probe{};
  // Agent: DAD snooping. A node probes each new address (a DAD NS from `::`); once the DAD time
  // is over, the agent asks the kernel to resolve the address, so a container that never sent
  // anything else becomes a neighbour (docs/design.md, "DAD snooping").
  bool dad_snooping{};
  std::chrono::milliseconds dad_snoop_delay{};
  // Agent: on-demand discovery. A solicitation on an uplink for an address in its prefixes
  // that we do not proxy is answered by probing the downstream interface that routes it; a
  // node that answers gets its entry, and the solicitor a solicited advertisement at once
  // (docs/design.md, "On-demand discovery"). At most on_demand_rate probes a second.
  bool on_demand{};
  unsigned on_demand_rate{};
  // Agent: an unsolicited neighbour advertisement (override set) on the uplink for each new
  // claim after the start, so that a router that cached the address elsewhere (a container
  // moved here) follows at once.
  bool unsolicited_na{};

  // Kernel.
  bool manage_sysctls{};
  std::optional<unsigned> proxy_delay_ms;  // nullopt: leave the kernel's value alone
  std::uint8_t owner_protocol{};
  // Probe neighbours the kernel no longer vouches for (STALE) before claiming them.
  bool verify_neighbours{};

  // Agent.
  std::string status_socket;
  unsigned status_socket_mode{};
  std::string status_socket_group;  // empty: root's group
  // Started as root: the user the agent becomes once its sockets are open ("root": stay uid 0).
  std::string run_as;
  std::chrono::seconds resync_interval{};
  std::string metrics_file;  // Prometheus textfile (docs/metrics.md); empty: none
  std::chrono::seconds liveness_timeout{};
  std::size_t netlink_rcvbuf{};
  bool remove_on_exit{};
  // Where the sysctl journal lives (sysctl_journal.hpp). nullopt: $STATE_DIRECTORY (systemd's
  // StateDirectory=), else /var/lib/ndpsync; "": none. See journal_file().
  std::optional<std::string> state_dir;
  std::string log_level;

  // Per-invocation modifiers, accepted in files too so every option has a key.
  bool dry_run{};
  bool json{};

  // Where this config came from, set by load_config_file() and shown in the agent's status: the
  // file read (nullopt: built-in defaults) and config_digest() of its bytes, so that `doctor` can
  // tell whether the file changed after the agent read it.
  std::optional<std::string> origin_file;
  std::string origin_digest;

  // Throws ConfigError naming the first contradiction (an uplink also listed downstream, ...).
  void validate() const;
  // What only `run` needs, checked by `check-config` too: the agent writes to the kernel, always
  // (a config that asks for a dry run is refused rather than silently ignored), and the group
  // and user it names exist on this host. Throws ConfigError.
  void validate_for_agent() const;

  bool operator==(const Config&) const = default;
};

// True when `name` matches a name or glob ("veth*") of the list.
bool matches_any(const std::vector<std::string>& patterns, std::string_view name);

// FNV-1a of the bytes, 64 bits, in hex.
std::string config_digest(std::string_view bytes);

// Parses JSON with comments. Unknown keys, wrong types and bad values throw ConfigError.
Config parse_config(std::string_view text);
Config load_config_file(const std::string& path);

// What `ndpsync config-keys` prints, and test/check_docs.sh holds docs/configuration.md to.
struct ConfigKey {
  std::string name;
  std::string type;
  std::string default_value;  // as a config file spells it, or a word ("detected", "none")
  std::string meaning;
};
std::vector<ConfigKey> config_keys();

// Where a config comes from. Precedence: built-in defaults, then the file, then the command line.
// A file named with --config must exist; the default one (NDPSYNC_CONFIG in the environment, else
// default_config_path()) is read when it exists, and its absence means the built-in defaults.
enum class ConfigFileRequirement { kOptional, kRequired };
struct ConfigFileChoice {
  std::string path;
  ConfigFileRequirement requirement = ConfigFileRequirement::kOptional;
};
struct LoadedConfig {
  Config config;
  std::optional<std::string> file;  // the file read; nullopt: built-in defaults only
};
// The build's default, /etc/ndpsync/ndpsync.json unless configured otherwise (NDPSYNC_CONFIG_FILE).
std::string default_config_path();

// The sysctl journal's file: STATE_DIR/sysctls-found (state_dir, or its default); "" for none.
std::string journal_file(const Config& config);
// `named` is --config's value, empty when not given.
ConfigFileChoice choose_config_file(const std::string& named);
// Throws ConfigError: a required file missing, an existing file unreadable or invalid.
LoadedConfig load_config(const ConfigFileChoice& choice);

}  // namespace ndpsync
