// `ndpsync doctor`: gathers what it needs from this host (doctor_facts.cpp), lets the pure
// diagnose() judge it, and prints the findings (doctor_report.cpp).
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ndpsync/config.hpp"
#include "ndpsync/doctor.hpp"

namespace ndpsync::cli {

struct DoctorOptions {
  std::string socket;  // empty: the config's status_socket
  bool json = false;
  // Where the network managers keep their state (/run/systemd/netif, /run/NetworkManager,
  // /etc/network/interfaces): "/", or the root of a manager running chrooted.
  std::string manager_root = "/";
};

// How doctor runs its helper programs (ip6tables, nft): looked up in these directories only,
// never in the caller's PATH, with PATH set to them and LC_ALL=C as the whole environment; killed
// (with anything they started) after `timeout` or once they print more than `max_output` bytes.
// The defaults are what `doctor` uses; only the unit tests pass other values (stubs that hang or
// flood), so no flag or config key reaches them.
struct HelperLimits {
  std::vector<std::string> directories = {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin",
                                          "/usr/bin",        "/sbin",          "/bin"};
  std::chrono::milliseconds timeout{5000};
  std::size_t max_output = std::size_t{16} << 20;  // nft on a busy Kubernetes node: a few MB
};

struct HelperRun {
  // The helper's stdout; nullopt when it is not installed, failed, or was stopped.
  std::optional<std::string> output;
  // Why it was stopped ("nft list ruleset: no end within 5 s; stopped"); empty when it was not.
  std::string problem;
};

// Runs argv[0] from limits.directories, stdin and stderr on /dev/null.
HelperRun run_helper(const std::vector<std::string>& argv, const HelperLimits& limits);

// The forward firewall from `ip6tables -S` and `nft list ruleset` into facts (forward_filters,
// firewall_unreadable, helper_problems).
void read_firewall(HostFacts& facts, const HelperLimits& limits);

// Reads the kernel (netlink), /proc/sys, /sys, /proc, the firewall, the network managers' state
// and the agent's status socket. Fails only when netlink cannot be read at all.
Result<HostFacts> gather_host_facts(const LoadedConfig& loaded, const DoctorOptions& options,
                                    const HelperLimits& limits = {});

std::string doctor_text(const Diagnosis& diagnosis);
nlohmann::json doctor_json(const Diagnosis& diagnosis, std::chrono::milliseconds took);

// 0 healthy, 1 a problem found (or the host could not be read).
int run_doctor(const LoadedConfig& loaded, const DoctorOptions& options);

}  // namespace ndpsync::cli
