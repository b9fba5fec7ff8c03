// `ndpsync doctor`: gathers what it needs from this host (doctor_facts.cpp), lets the pure
// diagnose() judge it, and prints the findings (doctor_report.cpp).
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "ndpsync/config.hpp"
#include "ndpsync/doctor.hpp"

namespace ndpsync::cli {

struct DoctorOptions {
  std::string socket;  // empty: the config's status_socket
  bool json = false;
};

// Reads the kernel (netlink), /proc/sys, /sys, /proc, the firewall and the agent's status socket.
// Fails only when netlink cannot be read at all.
Result<HostFacts> gather_host_facts(const LoadedConfig& loaded, const std::string& socket);

// The forward firewall, from `ip6tables -S` (a FORWARD chain with a DROP policy, with every rule
// of every chain: an accept may sit in a chain FORWARD jumps to) and from `nft list ruleset` (the
// ip6 and inet forward-hook chains whose policy is drop; the table ip6tables-nft keeps is left
// out when ip6tables already reported it).
std::optional<ForwardFilter> ip6tables_filter(const std::string& text);
std::vector<ForwardFilter> nft_filters(const std::string& text, bool skip_ip6tables_table);

std::string doctor_text(const Diagnosis& diagnosis);
nlohmann::json doctor_json(const Diagnosis& diagnosis, std::chrono::milliseconds took);

// 0 healthy, 1 a problem found (or the host could not be read).
int run_doctor(const LoadedConfig& loaded, const DoctorOptions& options);

}  // namespace ndpsync::cli
