// The delta between what policy wants and what the kernel holds (sysctls: sysctl_plan.hpp).
#pragma once

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

// Pure. Touches only entries that carry `owner`; removes nothing on a held uplink, and
// nothing at all while no uplink is known (a vanished default route must not wipe the table).
Plan reconcile(const Decision& decision, const ProxyTable& installed, std::uint8_t owner);

// The same, restricted to `addresses`: what redecide() touched.
Plan reconcile(const Decision& decision, const ProxyTable& installed, std::uint8_t owner,
               const std::set<Ipv6Address>& addresses);

}  // namespace ndpsync
