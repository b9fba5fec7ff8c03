// Logs each refusal once while it lasts (again if it comes back later), and summarises the cap,
// which a flooding container can hit thousands of times, at most once a minute.
#pragma once

#include <chrono>
#include <optional>
#include <set>

#include "ndpsync/observed_state.hpp"
#include "ndpsync/policy.hpp"
#include "ndpsync/reconcile.hpp"
#include "ndpsync/sysctl_sync.hpp"

namespace ndpsync {

using SteadyTime = std::chrono::steady_clock::time_point;

// How many addresses the caps refuse: all of them, and of those the per-MAC cap's.
struct CapCounts {
  std::size_t capped = 0;
  std::size_t capped_mac = 0;
};

class RefusalLog {
 public:
  // Logs what is new among the refusals of `scope`. Returns how many addresses the caps refuse
  // (counted only when the scope is everything).
  std::optional<CapCounts> log(const Decision& decision, const ObservedState& observed,
                               const Config& config, const Scope& scope, SteadyTime now);
  // Warns about configured uplinks that are not present, when that changes, and again after
  // remind() (each resync): a typo'd uplink proxies nothing, and holds the sysctls back.
  void log_missing_uplinks(const Decision& decision);
  // Says once how an uplink found from SLAAC's traces was found and what its accept_ra means
  // for the route; warns when several interfaces look like the uplink (again after remind()).
  void log_uplinks(const Decision& decision, const std::vector<SysctlState>& sysctls);
  void remind() {
    warned_missing_.clear();
    warned_candidates_.clear();
  }
  void clear() { logged_.clear(); }

 private:
  std::vector<std::string> warned_missing_;
  std::vector<UplinkCandidate> warned_candidates_;
  std::set<std::string> noted_slaac_;  // uplinks whose SLAAC note was logged
  std::set<Skipped> logged_;
  std::optional<SteadyTime> last_cap_warning_;
};

// Why an entry of ours is withdrawn, for the log line that says so.
std::string removal_reason(const Decision& decision, const std::set<IfAddressKey>& withdrawn,
                           const ProxyEntry& entry);

}  // namespace ndpsync
