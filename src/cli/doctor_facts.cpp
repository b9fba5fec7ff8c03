// What `ndpsync doctor` reads from the host. Nothing here judges; diagnose() does.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "doctor.hpp"
#include "kernel_warning.hpp"
#include "ndpsync/netlink.hpp"
#include "status_client.hpp"

namespace ndpsync::cli {
namespace {

std::optional<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream file(path);
  if (!file) return std::nullopt;
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

void read_sysctls(HostFacts& facts) {
  ProcSysctls proc;
  const auto read = [&](const SysctlKey& key) {
    const auto value = proc.read_sysctl(key);
    if (value.ok()) facts.sysctls[key] = value.value;
  };
  std::vector<std::string> names{"all"};
  for (const auto& link : facts.kernel.links) names.push_back(link.name);
  for (const auto& name : names) {
    for (const char* key : {"forwarding", "accept_ra", "proxy_ndp", "ndisc_notify"}) {
      read({SysctlKey::Tree::kConf, name, key});
    }
    if (name != "all") read({SysctlKey::Tree::kNeigh, name, "proxy_delay"});
  }
}

// The processes of this network namespace: a daemon in another one (another container, a test
// lab) answers on other links. A process whose namespace cannot be read (not root) counts.
void read_processes(HostFacts& facts) {
  std::error_code error;
  const auto own = std::filesystem::read_symlink("/proc/self/ns/net", error);
  for (const auto& entry : std::filesystem::directory_iterator("/proc", error)) {
    const auto name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code ns_error;
    const auto ns = std::filesystem::read_symlink(entry.path() / "ns" / "net", ns_error);
    if (!ns_error && !own.empty() && ns != own) continue;
    if (auto comm = read_file(entry.path() / "comm")) {
      facts.processes.push_back(trim(comm->substr(0, comm->find('\n'))));
    }
  }
}

// The network managers' state under `root` describes the links of the namespace they run in: on a
// host, PID 1's. Read from another namespace (a lab's, a container's), "/" would name links of
// the same index elsewhere; a manager chrooted there keeps its state under its own root.
void read_link_owners(HostFacts& facts, const std::filesystem::path& root) {
  std::error_code ours;
  std::error_code init;
  const auto self = std::filesystem::read_symlink("/proc/self/ns/net", ours);
  const auto pid1 = std::filesystem::read_symlink("/proc/1/ns/net", init);
  if (root == "/" && !ours && !init && self != pid1) return;
  for (const auto& link : facts.kernel.links) {
    if (link.loopback) continue;
    if (auto owner = find_link_owner(root, link.index, link.name);
        owner.manager != LinkManager::kNone) {
      facts.link_owners[link.name] = std::move(owner);
    }
  }
}

void read_agent(HostFacts& facts, const std::string& socket) {
  const auto text = query_status(socket);
  if (!text.ok() || text.value.empty()) {
    facts.agent_error =
        text.ok() ? "the agent on " + socket + " closed without answering" : text.status.message;
    return;
  }
  try {
    const auto document = nlohmann::json::parse(text.value);
    AgentFacts agent;
    agent.pid = document.value("pid", 0);
    if (document.contains("config_file") && document["config_file"].is_string()) {
      agent.config_file = document["config_file"].get<std::string>();
    }
    agent.config_digest = document.value("config_digest", "");
    facts.agent = agent;
  } catch (const nlohmann::json::exception& e) {
    facts.agent_error = "the agent on " + socket + " sent no valid status: " + e.what();
  }
}

}  // namespace

void read_firewall(HostFacts& facts, const HelperLimits& limits) {
  const auto run = [&](const std::vector<std::string>& argv) {
    auto ran = run_helper(argv, limits);
    if (!ran.problem.empty()) facts.helper_problems.push_back(ran.problem);
    return std::move(ran.output);
  };
  const auto ip6tables = run({"ip6tables", "-S"});
  if (ip6tables) {
    if (auto filter = ip6tables_filter(*ip6tables)) facts.forward_filters.push_back(*filter);
  }
  const auto nft = run({"nft", "list", "ruleset"});
  if (nft) {
    // ip6tables-nft's own table, already read through ip6tables, is not reported twice.
    const auto ip6tables_table =
        facts.forward_filters.empty() ? Ip6tablesTable::kInclude : Ip6tablesTable::kSkip;
    for (auto& filter : nft_filters(*nft, ip6tables_table)) {
      facts.forward_filters.push_back(std::move(filter));
    }
  }
  if (!ip6tables && !nft) {
    facts.firewall_unreadable = geteuid() != 0 ? "not root: ip6tables and nft need CAP_NET_ADMIN"
                                               : "neither ip6tables -S nor nft list ruleset ran";
  }
}

Result<HostFacts> gather_host_facts(const LoadedConfig& loaded, const DoctorOptions& options,
                                    const HelperLimits& limits) {
  HostFacts facts;
  auto kernel = make_netlink_kernel();
  if (!kernel.ok()) return {.status = kernel.status, .value = {}};
  auto dump = kernel.value->dump();
  if (!dump.ok()) return {.status = dump.status, .value = {}};
  facts.kernel = std::move(dump.value);
  facts.config = loaded.config;
  facts.config_file = loaded.file;
  if (loaded.file) {
    facts.config_digest = config_digest(read_file(*loaded.file).value_or(""));
  }
  read_sysctls(facts);
  read_processes(facts);
  read_agent(facts, options.socket.empty() ? loaded.config.status_socket : options.socket);
  read_link_owners(facts, options.manager_root);
  facts.kernel_check = running_kernel_check();
  for (const auto& link : facts.kernel.links) {
    if (link.kind != "bridge") continue;
    if (const auto text = read_file("/sys/class/net/" + link.name + "/addr_assign_type")) {
      facts.bridge_mac_assignment[link.name] = std::atoi(text->c_str());
    }
  }
  read_firewall(facts, limits);
  return {.status = {}, .value = std::move(facts)};
}

}  // namespace ndpsync::cli
