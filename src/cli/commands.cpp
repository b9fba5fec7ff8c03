#include "commands.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>

#include "ndpsync/agent_loop.hpp"
#include "ndpsync/metrics.hpp"
#include "ndpsync/utf8.hpp"
#include "status_client.hpp"
#include "status_text.hpp"

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
  app.add_option("--run-as", run_as, "started as root: the user to run as (\"root\": stay uid 0)");
  app.add_option("--metrics-file", metrics_file,
                 "write Prometheus metrics to this file (node_exporter textfile collector)");
}

void AgentOptions::add_status_options(CLI::App& app) {
  app.add_option("--socket", status_socket, "the agent's status socket");
  auto* as_json = app.add_flag("--json", json, "print the raw JSON document");
  app.add_flag("--prometheus", prometheus, "print the status as Prometheus metrics")
      ->excludes(as_json);
}

void AgentOptions::apply_to(Config& config) const {
  if (!status_socket.empty()) config.status_socket = status_socket;
  if (resync_interval) config.resync_interval = std::chrono::seconds(*resync_interval);
  if (liveness_timeout) config.liveness_timeout = std::chrono::seconds(*liveness_timeout);
  if (netlink_rcvbuf) config.netlink_rcvbuf = *netlink_rcvbuf;
  if (remove_on_exit) config.remove_on_exit = true;
  if (!metrics_file.empty()) config.metrics_file = metrics_file;
  if (!run_as.empty()) config.run_as = run_as;
}

int AgentOptions::run(const Config& config,
                      const std::function<std::optional<Config>()>& reload) const {
  return run_agent(config, reload);
}

int AgentOptions::status() const {
  const std::string path = status_socket.empty() ? Config{}.status_socket : status_socket;
  const auto text = query_status(path);
  if (!text.ok()) {
    std::cerr << "ndpsync: " << text.status.message << "\n";
    return 1;
  }
  if (text.value.empty()) {
    std::cerr << "ndpsync: the agent on " << path
              << " closed the connection without answering (busy with other clients?)\n";
    return 1;
  }
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(text.value);
  } catch (const nlohmann::json::parse_error& e) {
    std::cerr << "ndpsync: the agent sent something that is not JSON: " << e.what() << "\n";
    return 1;
  }
  if (json) {
    std::cout << json_text(document, 2) << "\n";
  } else if (prometheus) {
    std::cout << render_prometheus(metrics_from_status(document));
  } else {
    print_status(document, std::cout);
  }
  return 0;
}

void print_config_keys(KeysFormat format, std::ostream& out) {
  const auto keys = config_keys();
  if (format == KeysFormat::kJson) {
    auto document = nlohmann::json::array();
    for (const auto& k : keys) {
      document.push_back({{"key", k.name},
                          {"type", k.type},
                          {"default", k.default_value},
                          {"meaning", k.meaning}});
    }
    out << json_text(document, 2) << "\n";
    return;
  }
  // Widths in characters, not bytes: a type may hold a UTF-8 arrow.
  const auto width = [](const std::string& text) {
    return static_cast<std::size_t>(
        std::count_if(text.begin(), text.end(), [](char c) { return (c & 0xC0) != 0x80; }));
  };
  std::size_t name_width = 3;
  std::size_t type_width = 4;
  std::size_t default_width = 7;
  for (const auto& k : keys) {
    name_width = std::max(name_width, width(k.name));
    type_width = std::max(type_width, width(k.type));
    default_width = std::max(default_width, width(k.default_value));
  }
  const auto row = [&](const std::string& name, const std::string& type,
                       const std::string& fallback, const std::string& meaning) {
    out << name << std::string(name_width - width(name) + 2, ' ') << type
        << std::string(type_width - width(type) + 2, ' ') << fallback
        << std::string(default_width - width(fallback) + 2, ' ') << meaning << "\n";
  };
  row("KEY", "TYPE", "DEFAULT", "MEANING");
  for (const auto& k : keys) row(k.name, k.type, k.default_value, k.meaning);
}

}  // namespace ndpsync::cli
