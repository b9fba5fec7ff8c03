// `ndpsync run` and `ndpsync status`: options and entry points.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <optional>
#include <ostream>
#include <string>

#include "ndpsync/config.hpp"

namespace ndpsync::cli {

struct AgentOptions {
  std::string status_socket;
  std::string metrics_file;
  std::string run_as;
  std::optional<unsigned> resync_interval;
  std::optional<unsigned> liveness_timeout;
  std::optional<std::size_t> netlink_rcvbuf;
  bool remove_on_exit = false;
  bool json = false;
  bool prometheus = false;

  void add_run_options(CLI::App& app);
  void add_status_options(CLI::App& app);
  void apply_to(Config& config) const;

  int run(const Config& config, const std::function<std::optional<Config>()>& reload) const;
  [[nodiscard]] int status() const;
};

// `ndpsync config-keys`: every key with its type, default and meaning.
enum class KeysFormat : std::uint8_t { kTable, kJson };
void print_config_keys(KeysFormat format, std::ostream& out);

}  // namespace ndpsync::cli
