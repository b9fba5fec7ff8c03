// Which sysctls the uplinks need, in which order, and when the global ones must wait. Pure: a
// function of the config, the uplinks, the interfaces holding RA-learned default routes and the
// values read from the kernel. sysctl_sync.hpp reads and writes them.
//
// The kernel fact behind the order: writing any forwarding=1 (all or one interface) drops the
// RA-learned default routes of every interface whose own accept_ra is not 2, the routes that
// systemd-networkd and NetworkManager install from the RAs they take themselves included. So an
// uplink whose accept_ra is 1 gets 2 first; one whose accept_ra is 0 (its manager takes the RAs)
// and which holds such a route gets 2 across the forwarding writes and 0 again after them; and
// while another interface holds the host's RA default route with accept_ra=1, the global writes
// (all.proxy_ndp, all.forwarding, and every forwarding) wait: a typo in --uplink must not cost
// the host its default route.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ndpsync/observed_state.hpp"
#include "ndpsync/policy.hpp"

namespace ndpsync {

// What a write does to the others: a kSettle write (accept_ra=2) must succeed before any
// kGlobal write (one that drops RA routes, or is part of that set) may run; a kRestore write
// (accept_ra back to 0 after them) runs whatever became of them.
enum class SysctlStage : std::uint8_t { kSettle, kGlobal, kLocal, kRestore };

struct SysctlWrite {
  SysctlKey key;
  std::string value;
  std::string reason;
  SysctlStage stage = SysctlStage::kLocal;
};

// An interface that holds the host's RA-learned default route, is no uplink of ours, and
// would lose the route to a forwarding write: its accept_ra is 1, or could not be read.
struct SysctlBlocker {
  std::string iface;
  std::string accept_ra;  // as read; empty when unreadable

  [[nodiscard]] std::string message() const;  // names the interface and the fix
  auto operator<=>(const SysctlBlocker&) const = default;
};

struct SysctlPlan {
  std::vector<SysctlWrite> writes;      // in the order they must be written
  std::vector<SysctlBlocker> blockers;  // non-empty: the kGlobal writes were left out
};

// Names of the interfaces holding an RA-learned (protocol ra) default route, sorted.
std::vector<std::string> ra_default_holders(const ObservedState& observed);

// Every key plan_sysctls() reads: the uplinks' (in write order, for reports), then the
// accept_ra of the RA holders that are no uplink.
std::vector<SysctlKey> sysctl_keys(const Config& config, const std::vector<Uplink>& uplinks);
std::vector<SysctlKey> holder_keys(const std::vector<Uplink>& uplinks,
                                   const std::vector<std::string>& ra_holders);

// Nothing when sysctls are not managed or there is no uplink. `current` holds the values read;
// a key missing from it could not be read.
SysctlPlan plan_sysctls(const Config& config, const std::vector<Uplink>& uplinks,
                        const std::vector<std::string>& ra_holders,
                        const std::map<SysctlKey, std::string>& current);

}  // namespace ndpsync
