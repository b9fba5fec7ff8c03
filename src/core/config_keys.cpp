// The table of config keys: data, one entry per key, the size rules' one exception.
#include "config_keys.hpp"

#include <algorithm>

namespace ndpsync::config_detail {

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
           const auto path = key_path(p, name);
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
           const auto path = key_path(p, name);
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
           const auto path = key_path(p, name);
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
      {"state_dir", "absolute path, \"\" for none, or null", nullptr, nullptr,
       "where the sysctl values found before ndpsync's first writes are kept for `ndpsync "
       "cleanup --purge`, when the directory exists; null: $STATE_DIRECTORY, else "
       "/var/lib/ndpsync",
       [](Config& c, const json& v, const std::string& p) {
         if (v.is_null()) {
           c.state_dir.reset();
         } else {
           c.state_dir = as_string(v, p);
         }
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

}  // namespace ndpsync::config_detail
