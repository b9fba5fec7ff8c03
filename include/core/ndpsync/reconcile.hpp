// The delta between what policy wants and what the kernel holds (sysctls: sysctl_plan.hpp).
#pragma once

#include <limits>
#include <set>
#include <vector>

#include "ndpsync/policy.hpp"

namespace ndpsync {

struct Plan {
  std::vector<ProxyEntry> add;
  std::vector<ProxyEntry> remove;
  std::vector<ProxyEntry> keep;

  [[nodiscard]] bool empty() const { return add.empty() && remove.empty(); }
};

// Which addresses a pass covers: every one, or only those a batch of events touched.
class Scope {
 public:
  static Scope everything() { return Scope(nullptr); }
  static Scope only(const std::set<Ipv6Address>& addresses) { return Scope(&addresses); }

  [[nodiscard]] bool is_everything() const { return addresses_ == nullptr; }
  [[nodiscard]] const std::set<Ipv6Address>& addresses() const { return *addresses_; }

 private:
  explicit Scope(const std::set<Ipv6Address>* addresses) : addresses_(addresses) {}
  const std::set<Ipv6Address>* addresses_;
};

// Visits the refusals of the addresses in `scope` (all of them for everything).
template <typename Visit>
void for_each_skipped(const Decision& decision, const Scope& scope, Visit&& visit) {
  if (scope.is_everything()) {
    for (const auto& s : decision.skipped) visit(s);
    return;
  }
  for (const auto& address : scope.addresses()) {
    auto it = decision.skipped.lower_bound(
        {address, std::numeric_limits<IfIndex>::min(), SkipReason::kLinkLocal});
    for (; it != decision.skipped.end() && it->address == address; ++it) visit(*it);
  }
}

// Pure. Touches only entries that carry `owner`; removes nothing on a held uplink, and
// nothing at all while no uplink is known (a vanished default route must not wipe the table).
// With a scope of some addresses, looks at those addresses' entries on the uplinks only.
Plan reconcile(const Decision& decision, const ProxyTable& installed, std::uint8_t owner,
               const Scope& scope = Scope::everything());

}  // namespace ndpsync
