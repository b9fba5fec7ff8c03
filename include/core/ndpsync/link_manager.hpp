// Who configures a link: the network manager that owns the uplink, found by the state files each
// keeps, and that manager's own way to keep the uplink's router advertisements with forwarding
// on. A fix given as a sysctl is undone by a manager at its next reconfigure; doctor and the
// agent's notes give the manager's own setting instead. docs/operations.md, "Network managers".
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "ndpsync/types.hpp"

namespace ndpsync {

enum class LinkManager : std::uint8_t {
  kNone,            // nothing we know owns it (sysctl.d files, a hand-made setup)
  kNetworkd,        // systemd-networkd, from a .network file
  kNetplan,         // systemd-networkd, from the .network file netplan generated
  kNetworkManager,  // NetworkManager
  kIfupdown,        // ifupdown (Debian's /etc/network/interfaces)
  kIfupdown2,       // ifupdown2 (Proxmox's)
};

std::string_view to_string(LinkManager manager);

struct LinkOwner {
  LinkManager manager = LinkManager::kNone;
  // networkd: the .network file; NetworkManager: the connection's UUID; "" when unknown.
  std::string source;
  // networkd: the [Network] settings of the file and its drop-ins, the last one winning.
  std::map<std::string, std::string> settings;

  auto operator<=>(const LinkOwner&) const = default;
};

// The manager of link `name` (index `index`), from the files under `root` ("/" on a host):
//   networkd  /run/systemd/netif/links/<index>, ADMIN_STATE not "unmanaged"; NETWORK_FILE names
//             the .network file (netplan's are /run/systemd/network/10-netplan-*.network);
//   NetworkManager  /run/NetworkManager/devices/<index> with managed=true;
//   ifupdown2 /usr/share/ifupdown2 and an `iface <name>` stanza in /etc/network/interfaces;
//   ifupdown  /run/network/ifstate.<name>, or the stanza and /sbin/ifup.
LinkOwner find_link_owner(const std::filesystem::path& root, IfIndex index, std::string_view name);

// The manager runs its own RA client (the kernel's accept_ra stays 0 on its links).
bool takes_ra_itself(LinkManager manager);

// How to keep the uplink `iface`'s RA default route with forwarding on, in the manager's terms.
std::string ra_fix(const LinkOwner& owner, std::string_view iface);
// The manager's own lasting setting for it alone, to follow a sysctl that fixes it for now.
std::string ra_setting(const LinkOwner& owner, std::string_view iface);

// networkd's settings that a forwarding proxy host needs and the file does not set, for a
// finding ("IPv6AcceptRA=yes, IPv6ProxyNDP=yes"); "" when none is missing or networkd is not
// the owner. Unset, networkd stops taking RAs on a link that forwards, and writes proxy_ndp=0 at
// each reconfigure.
std::string networkd_missing(const LinkOwner& owner);

}  // namespace ndpsync
