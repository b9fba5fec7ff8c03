#include "commands.hpp"

#include <spdlog/spdlog.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "ndpsync/agent_loop.hpp"

namespace ndpsync::cli {

void AgentOptions::add_run_options(CLI::App& app) {
  app.add_option("--status-socket", status_socket, "Unix socket for status queries");
  app.add_option("--resync-interval", resync_interval, "seconds between full re-reads")
      ->check(CLI::Range(1, 86400));
  app.add_option("--liveness-timeout", liveness_timeout,
                 "seconds to verify a vanished neighbour before withdrawing it")
      ->check(CLI::Range(1, 3600));
  app.add_option("--netlink-rcvbuf", netlink_rcvbuf, "event socket receive buffer, bytes")
      ->check(CLI::Range(4096, 1 << 30));
  app.add_flag("--remove-on-exit", remove_on_exit, "remove our entries when stopped");
}

void AgentOptions::add_status_options(CLI::App& app) {
  app.add_option("--socket", status_socket, "the agent's status socket");
  app.add_flag("--json", json, "print the raw JSON document");
}

void AgentOptions::apply_to(Config& config) const {
  if (!status_socket.empty()) config.status_socket = status_socket;
  if (resync_interval) config.resync_interval = std::chrono::seconds(*resync_interval);
  if (liveness_timeout) config.liveness_timeout = std::chrono::seconds(*liveness_timeout);
  if (netlink_rcvbuf) config.netlink_rcvbuf = *netlink_rcvbuf;
  if (remove_on_exit) config.remove_on_exit = true;
}

int AgentOptions::run(const Config& config,
                      const std::function<std::optional<Config>()>& reload) const {
  return run_agent(config, reload);
}

namespace {

using nlohmann::json;

std::string text_of(const json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

// The status document, for people. Keys are documented in docs/status.md.
void print_status(const json& s, std::ostream& out) {
  out << "ndpsync " << text_of(s["version"]) << " agent, pid " << s["pid"] << ", started "
      << text_of(s["started"]) << ", last resync " << text_of(s["last_resync"]) << "\n";
  for (const auto& u : s["uplinks"]) {
    out << "uplink " << text_of(u["name"]) << ":";
    for (const auto& p : u["prefixes"]) out << " " << text_of(p);
    if (u["held"].get<bool>()) out << " (no prefix yet: holding entries)";
    out << "\n";
    for (const auto& sc : u["sysctls"]) {
      out << "  " << text_of(sc["key"]) << " = " << text_of(sc["found"])
          << (sc["set"].is_null() ? "" : " -> " + text_of(sc["set"])) << "\n";
    }
  }
  for (const auto& sc : s["sysctls"]) {
    out << "  " << text_of(sc["key"]) << " = " << text_of(sc["found"])
        << (sc["set"].is_null() ? "" : " -> " + text_of(sc["set"])) << "\n";
  }
  out << "downstream:";
  for (const auto& d : s["downstream"]) out << " " << text_of(d);
  out << "\nentries (" << s["entries"].size() << "):\n";
  for (const auto& e : s["entries"]) {
    out << "  " << text_of(e["address"]) << " on " << text_of(e["uplink"]) << "  ("
        << text_of(e["source"]) << " on " << text_of(e["interface"])
        << (e.contains("since") ? ", since " + text_of(e["since"]) : "")
        << (e.contains("verifying") ? ", verifying" : "") << ")\n";
  }
  for (const auto& e : s["foreign"]) {
    out << "foreign " << text_of(e["address"]) << " on " << text_of(e["uplink"]) << " (proto "
        << e["protocol"] << ")\n";
  }
  for (const auto& e : s["skipped"]) {
    const auto reason = text_of(e["reason"]);
    if (reason == "link-local" || reason == "multicast") continue;
    out << "skipped " << text_of(e["address"]) << " on " << text_of(e["interface"]) << ": "
        << reason << "\n";
  }
  for (const auto& e : s["verifying"]) {
    out << "verifying " << text_of(e["address"]) << " on " << text_of(e["interface"]) << "\n";
  }
  for (const auto& e : s["pending"]) {
    out << "pending " << text_of(e["operation"]) << " " << text_of(e["address"]) << ": "
        << text_of(e["error"]) << "\n";
  }
  out << "counters:";
  for (const auto& [key, value] : s["counters"].items()) out << " " << key << "=" << value;
  out << "\n";
}

}  // namespace

int AgentOptions::status() const {
  const std::string path = status_socket.empty() ? Config{}.status_socket : status_socket;
  std::string error;
  const auto text = query_status(path, error);
  if (!text) {
    std::cerr << "ndpsync: " << error << "\n";
    return 1;
  }
  if (text->empty()) {
    std::cerr << "ndpsync: the agent on " << path
              << " closed the connection without answering (busy with other clients?)\n";
    return 1;
  }
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(*text);
  } catch (const nlohmann::json::parse_error& e) {
    std::cerr << "ndpsync: the agent sent something that is not JSON: " << e.what() << "\n";
    return 1;
  }
  if (json) {
    std::cout << document.dump(2) << "\n";
  } else {
    print_status(document, std::cout);
  }
  return 0;
}

}  // namespace ndpsync::cli
