// The sysctl keeper: the agent's owner of proxy_ndp, forwarding, accept_ra and proxy_delay. It
// brings them into line whenever the set of uplinks changes or something may have changed them
// behind our back, remembers the value it first found for each, and counts the repairs.
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ndpsync/sysctl_sync.hpp"

namespace ndpsync {

struct KeeperCounters {
  std::uint64_t repairs = 0;  // a key we had settled was changed by someone else
  std::uint64_t errors = 0;
};

class SysctlKeeper {
 public:
  explicit SysctlKeeper(SysctlPort& kernel) : kernel_(kernel) {}

  // Checks and writes the sysctls these uplinks need, unless it did so for the same uplinks and
  // nothing has been invalidated since.
  void keep(const Config& config, const ObservedState& observed,
            const std::vector<Uplink>& uplinks);
  // Something may have changed them (a resync, a link coming back): check at the next keep().
  void invalidate() { checked_for_.clear(); }

  // The sysctls as last checked, with the value found when the agent first looked.
  [[nodiscard]] std::vector<SysctlState> report() const;
  [[nodiscard]] const KeeperCounters& counters() const { return counters_; }

 private:
  SysctlPort& kernel_;
  std::vector<SysctlState> states_;
  std::map<SysctlKey, std::string> first_found_;
  std::set<SysctlKey> settled_;  // keys that held our value at least once
  std::set<std::pair<IfIndex, std::string>> checked_for_;
  KeeperCounters counters_;
};

}  // namespace ndpsync
