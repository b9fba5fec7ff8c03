#include "commands.hpp"

#include <spdlog/spdlog.h>

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

int AgentOptions::run(const Config& /*config*/, const std::string& /*config_file*/) const {
  spdlog::error("run: not implemented yet");
  return 1;
}

int AgentOptions::status() const {
  spdlog::error("status: not implemented yet");
  return 1;
}

}  // namespace ndpsync::cli
