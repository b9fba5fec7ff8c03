// `ndpsync doctor`: what is wrong with this host's proxy-NDP setup, in plain words, with the fix.
// Pure: diagnose() judges HostFacts that the command gathered (netlink, /proc/sys, /sys, /proc,
// the firewall, the agent's status socket), so every check is unit-tested on made-up hosts.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ndpsync/config.hpp"
#include "ndpsync/firewall.hpp"
#include "ndpsync/kernel_check.hpp"
#include "ndpsync/kernel_port.hpp"
#include "ndpsync/link_manager.hpp"
#include "ndpsync/policy.hpp"

namespace ndpsync {

// What a running agent says about itself (its status socket).
struct AgentFacts {
  int pid = 0;
  std::optional<std::string> config_file;  // the file it read; nullopt: built-in defaults
  std::string config_digest;               // of that file's bytes when it read them
};

struct HostFacts {
  Snapshot kernel;
  // The config the agent would run with: built-in defaults, then the file.
  Config config;
  std::optional<std::string> config_file;
  std::string config_digest;  // config_digest() of its bytes now
  // net.ipv6.conf.<all|IF>.<forwarding|accept_ra|proxy_ndp|ndisc_notify> and
  // net.ipv6.neigh.<IF>.proxy_delay; a key that could not be read is absent.
  std::map<SysctlKey, std::string> sysctls;
  std::vector<std::string> processes;  // the names (comm) of every running process
  std::optional<AgentFacts> agent;     // nullopt: no agent answered
  std::string agent_error;             // why not
  KernelCheck kernel_check;
  // /sys/class/net/<bridge>/addr_assign_type of each bridge: 3 (NET_ADDR_SET) is a fixed MAC.
  std::map<std::string, int> bridge_mac_assignment;
  // The network manager of each link that has one (find_link_owner), by link name.
  std::map<std::string, LinkOwner> link_owners;
  std::vector<ForwardFilter> forward_filters;  // chains that drop forwarded traffic by default
  std::string firewall_unreadable;             // why the firewall could not be read; "" = read
  // Helper programs stopped for running too long or printing too much: what they should have
  // told is missing.
  std::vector<std::string> helper_problems;
};

struct Finding {
  std::string check;    // stable id: "proxy-ndp-off", ...
  std::string problem;  // what is wrong and what it breaks, in plain words
  std::string fix;      // what to do
};

enum class CheckResult : std::uint8_t { kOk, kProblem, kNotApplicable };

struct Diagnosis {
  Decision decision;                               // what ndpsync would proxy here, for context
  std::map<std::string, LinkOwner> uplink_owners;  // the uplinks' network managers, by name
  std::vector<Finding> findings;
  std::vector<std::pair<std::string, CheckResult>> checks;  // every check, in order
  [[nodiscard]] bool healthy() const { return findings.empty(); }
};

Diagnosis diagnose(const HostFacts& facts);

// Daemons that answer NDP for the same addresses from userspace.
bool is_conflicting_daemon(std::string_view process_name);

}  // namespace ndpsync
