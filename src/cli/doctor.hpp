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

std::string doctor_text(const Diagnosis& diagnosis);
nlohmann::json doctor_json(const Diagnosis& diagnosis, std::chrono::milliseconds took);

// 0 healthy, 1 a problem found (or the host could not be read).
int run_doctor(const LoadedConfig& loaded, const DoctorOptions& options);

}  // namespace ndpsync::cli
