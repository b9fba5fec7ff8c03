// The controller: command line, config loading and exit codes. Everything it runs lives in the
// libraries. Exit codes: 0 done, 1 a kernel operation failed, 2 usage or config error.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "cleanup.hpp"
#include "commands.hpp"
#include "doctor.hpp"
#include "kernel_warning.hpp"
#include "logging.hpp"
#include "ndpsync/config.hpp"
#include "ndpsync/netlink.hpp"
#include "ndpsync/reconcile_once.hpp"
#include "ndpsync/report.hpp"
#include "ndpsync/utf8.hpp"

namespace {

using ndpsync::Config;
using ndpsync::ConfigError;

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

void add_config_option(CLI::App& app, std::string& config_file) {
  app.add_option("-c,--config", config_file,
                 "JSON config file, comments allowed (default: " + ndpsync::default_config_path() +
                     " when it exists)");
}

// Selection and sysctl options shared by `reconcile` and `run`; they override the config file.
struct SelectionOptions {
  std::string config_file;
  std::vector<std::string> uplinks;
  std::vector<std::string> downstream;
  std::vector<std::string> prefixes;
  bool no_sysctl = false;
  bool no_verify = false;

  void add_to(CLI::App& app) {
    add_config_option(app, config_file);
    app.add_option("--uplink", uplinks, "uplink interface (default: the IPv6 default route's)");
    app.add_option("--downstream", downstream,
                   "downstream interface name or glob (default: veth, bridge and lo)");
    app.add_option("--prefix", prefixes,
                   "IPv6 prefix to proxy (default: the uplink's on-link prefixes)");
    app.add_flag("--no-sysctl", no_sysctl,
                 "leave forwarding, proxy_ndp, accept_ra and proxy_delay alone");
    app.add_flag("--no-verify", no_verify,
                 "take neighbours at the kernel's word: no probe before a claim or a withdrawal");
  }

  // Builds the whole config before anything uses it: defaults, the file, then the command line.
  // Throws ConfigError.
  [[nodiscard]] ndpsync::LoadedConfig build() const {
    auto loaded = ndpsync::load_config(ndpsync::choose_config_file(config_file));
    Config& config = loaded.config;
    if (!uplinks.empty()) config.uplinks = uplinks;
    if (!downstream.empty()) config.downstream = downstream;
    if (!prefixes.empty()) {
      config.prefixes.clear();
      for (const auto& text : prefixes) {
        const auto prefix = ndpsync::Prefix::parse(text);
        if (!prefix) {
          throw ConfigError("--prefix: not an IPv6 prefix (ADDR/LEN): '" + text + "'");
        }
        config.prefixes.push_back(*prefix);
      }
    }
    if (no_sysctl) config.manage_sysctls = false;
    if (no_verify) config.verify_neighbours = false;
    config.validate();
    return loaded;
  }
};

std::string config_source(const ndpsync::LoadedConfig& loaded) {
  return loaded.file
             ? "config file " + *loaded.file
             : "built-in defaults (no file at " + ndpsync::choose_config_file("").path + ")";
}

// `ndpsync check-config [--config FILE]`: the file `run` would read, validated as `run` does at
// start; 0 or 2.
int check_config(const std::string& named) {
  const auto loaded = ndpsync::load_config(ndpsync::choose_config_file(named));
  // As strict as `run` at start: a reload must never accept what the next start refuses.
  try {
    loaded.config.validate_for_agent();
  } catch (const ConfigError& e) {
    throw ConfigError((loaded.file ? *loaded.file + ": " : std::string()) + e.what());
  }
  std::cout << "ndpsync: " << config_source(loaded) << ": ok\n";
  return kExitOk;
}

// `ndpsync run`. On SIGHUP the file is read again and the command line still wins over it.
int run_agent_command(const SelectionOptions& selection, const ndpsync::cli::AgentOptions& agent,
                      const std::string& log_level) {
  const auto build = [&]() {
    auto loaded = selection.build();
    agent.apply_to(loaded.config);
    if (!log_level.empty()) loaded.config.log_level = log_level;
    loaded.config.validate();
    loaded.config.validate_for_agent();  // e.g. dry_run: the agent has no observe-only mode
    return loaded;
  };
  const auto loaded = build();
  ndpsync::cli::setup_logging(loaded.config.log_level);
  ndpsync::cli::warn_about_kernel();
  spdlog::info("using {}", config_source(loaded));
  const auto reload = [&]() -> std::optional<Config> {
    try {
      const auto fresh = build();
      spdlog::set_level(spdlog::level::from_str(fresh.config.log_level));
      spdlog::info("reloaded {}", config_source(fresh));
      return fresh.config;
    } catch (const ConfigError& e) {
      spdlog::error("{}", e.what());
      return std::nullopt;
    }
  };
  return agent.run(loaded.config, reload);
}

int run_reconcile(const Config& config) {
  auto kernel = ndpsync::make_netlink_kernel(config.dry_run ? "" : ndpsync::journal_file(config));
  if (!kernel.ok()) {
    spdlog::error("{}", kernel.status.message);
    return kernel.status.error == EINVAL ? kExitUsage : kExitFailure;  // a malformed state file
  }
  // Subscribed before the dump, so that no verdict on a probed neighbour can be missed.
  std::unique_ptr<ndpsync::EventSource> events;
  if (config.verify_neighbours && !config.dry_run) {
    auto made = ndpsync::make_netlink_events({.event_rcvbuf = config.netlink_rcvbuf});
    if (!made.ok()) {
      spdlog::error("{}", made.status.message);
      return kExitFailure;
    }
    events = std::move(made.value);
  }
  const auto report = ndpsync::reconcile_once(*kernel.value, events.get(), config);
  if (config.json) {
    std::cout << ndpsync::json_text(ndpsync::report_json(report), 2) << "\n";
  } else {
    std::cout << ndpsync::report_text(report);
  }
  for (const auto& failure : report.failures) {
    spdlog::error("{} {}: {}", failure.operation, failure.target, failure.status.message);
  }
  return report.failed() ? kExitFailure : kExitOk;
}

}  // namespace

// The command line: every subcommand and option, and which one runs.
struct CommandLine {
  CLI::App app{"ndpsync: keep kernel proxy-NDP entries for container addresses"};
  std::string log_level;
  SelectionOptions selection;
  ndpsync::cli::AgentOptions agent;
  bool dry_run = false;
  bool json = false;
  bool keys_json = false;
  std::string checked_file;
  CLI::App* reconcile = nullptr;
  CLI::App* run = nullptr;
  CLI::App* status = nullptr;
  CLI::App* keys = nullptr;
  CLI::App* check = nullptr;
  CLI::App* kernel_check = nullptr;
  CLI::App* doctor = nullptr;
  CLI::App* cleanup = nullptr;
  ndpsync::cli::DoctorOptions doctor_options;
  ndpsync::cli::CleanupOptions cleanup_options;

  CommandLine() {
    app.require_subcommand(1);
    app.fallthrough();  // global options may follow the subcommand too
    app.add_option("--log-level", log_level, "trace, debug, info, warn or error")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
    app.set_version_flag("--version", ndpsync::kVersion);
    reconcile = app.add_subcommand("reconcile", "look once, apply the difference, exit");
    selection.add_to(*reconcile);
    reconcile->add_flag("--dry-run", dry_run, "change nothing; print what would change");
    reconcile->add_flag("--json", json, "print the result as one JSON document");
    run = app.add_subcommand("run", "keep the proxy table right until stopped");
    selection.add_to(*run);
    agent.add_run_options(*run);
    status = app.add_subcommand("status", "show what a running agent proxies");
    agent.add_status_options(*status);
    keys = app.add_subcommand("config-keys", "list every config key: type, default, meaning");
    keys->add_flag("--json", keys_json, "print them as one JSON list");
    check = app.add_subcommand("check-config", "validate the config file; exit 0 or 2");
    add_config_option(*check, checked_file);
    kernel_check = app.add_subcommand("kernel-check", "known kernel defects that touch ndpsync");
    kernel_check->add_flag("--json", json, "print the result as one JSON document");
    doctor = app.add_subcommand("doctor", "find what is wrong on this host and say how to fix it");
    add_config_option(*doctor, checked_file);
    doctor->add_option("--socket", doctor_options.socket,
                       "the agent's status socket (default: status_socket of the config)");
    doctor->add_flag("--json", doctor_options.json, "print the result as one JSON document");
    doctor
        ->add_option("--manager-root", doctor_options.manager_root,
                     "where the network managers keep their state (default /; the root of a "
                     "manager running chrooted)")
        ->check(CLI::ExistingDirectory);
    cleanup = app.add_subcommand(
        "cleanup", "remove our proxy entries (what `apt remove` does); the agent must be stopped");
    add_config_option(*cleanup, checked_file);
    cleanup->add_flag("--purge", cleanup_options.purge,
                      "also put back the sysctls ndpsync changed, as first found (`apt purge`)");
    cleanup->add_flag("--dry-run", cleanup_options.dry_run,
                      "change nothing; print what would change");
  }

  // Runs the chosen subcommand; throws ConfigError on a bad config.
  int dispatch() {
    using ndpsync::cli::KernelCheckFormat;
    using ndpsync::cli::KeysFormat;
    if (*keys) {
      ndpsync::cli::print_config_keys(keys_json ? KeysFormat::kJson : KeysFormat::kTable,
                                      std::cout);
      return kExitOk;
    }
    if (*check) return check_config(checked_file);
    if (*cleanup) {
      ndpsync::cli::setup_logging(log_level.empty() ? "warn" : log_level);
      auto loaded = ndpsync::load_config(ndpsync::choose_config_file(checked_file));
      loaded.config.validate();
      return ndpsync::cli::run_cleanup(loaded.config, cleanup_options);
    }
    if (*doctor) {
      ndpsync::cli::setup_logging(log_level.empty() ? "warn" : log_level);
      return ndpsync::cli::run_doctor(
          ndpsync::load_config(ndpsync::choose_config_file(checked_file)), doctor_options);
    }
    if (*kernel_check) {
      return ndpsync::cli::print_kernel_check(json ? KernelCheckFormat::kJson
                                                   : KernelCheckFormat::kText);
    }
    if (*status) {
      ndpsync::cli::setup_logging(log_level.empty() ? "warn" : log_level);
      return agent.status();
    }
    if (*run) return run_agent_command(selection, agent, log_level);
    Config config = selection.build().config;
    if (dry_run) config.dry_run = true;
    if (json) config.json = true;
    if (!log_level.empty()) config.log_level = log_level;
    ndpsync::cli::setup_logging(config.log_level);
    ndpsync::cli::warn_about_kernel();
    return run_reconcile(config);
  }
};

int main(int argc, char** argv) {
  try {
    CommandLine cli;
    try {
      cli.app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      if (e.get_exit_code() == 0) {
        return cli.app.exit(e);  // --help, --version
      }
      std::cerr << "ndpsync: " << e.what() << "\nRun with --help for more information.\n";
      return kExitUsage;
    }
    return cli.dispatch();
  } catch (const ConfigError& e) {
    std::cerr << "ndpsync: " << e.what() << "\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    // Anything else is a failure to report, not a reason to abort with a core dump.
    std::cerr << "ndpsync: " << e.what() << "\n";
    return kExitFailure;
  }
}
