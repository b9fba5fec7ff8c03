// Which network manager owns a link, from the state files each keeps (as systemd-networkd 252,
// NetworkManager 1.42, ifupdown 0.8 and ifupdown2 3.0 write them), in a made-up root.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "catch2_compat.hpp"
#include "ndpsync/link_manager.hpp"

using namespace ndpsync;
namespace fs = std::filesystem;

namespace {

struct Root {
  Root() : path(fs::temp_directory_path() / ("ndpsync-lm-" + std::to_string(getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~Root() { fs::remove_all(path); }
  Root(const Root&) = delete;
  Root& operator=(const Root&) = delete;
  Root(Root&&) = delete;
  Root& operator=(Root&&) = delete;

  void write(const std::string& file, const std::string& text) const {
    const auto at = path / file;
    fs::create_directories(at.parent_path());
    std::ofstream(at) << text;
  }
  [[nodiscard]] LinkOwner owner(IfIndex index = 2, std::string_view name = "eth0") const {
    return find_link_owner(path, index, name);
  }

  fs::path path;
};

constexpr const char* kNetworkdState =
    "# This is private data. Do not parse.\n"
    "ADMIN_STATE=configured\n"
    "OPER_STATE=routable\n"
    "CARRIER_STATE=carrier\n"
    "ONLINE_STATE=online\n"
    "REQUIRED_FOR_ONLINE=yes\n";

}  // namespace

TEST_CASE("link manager: systemd-networkd, its .network file and drop-ins") {
  Root root;
  root.write("run/systemd/netif/links/2",
             std::string(kNetworkdState) + "NETWORK_FILE=/etc/systemd/network/10-uplink.network\n");
  root.write("etc/systemd/network/10-uplink.network",
             "[Match]\nName=eth0\n\n[Network]\nDHCP=no\nIPv6AcceptRA=no\n");
  root.write("etc/systemd/network/10-uplink.network.d/50-ra.conf", "[Network]\nIPv6AcceptRA=yes\n");
  root.write("run/systemd/network/10-uplink.network.d/90-other.conf",
             "[Link]\nIPv6ProxyNDP=yes\n");  // not [Network]: ignored
  const auto owner = root.owner();
  CHECK(owner.manager == LinkManager::kNetworkd);
  CHECK(owner.source == "/etc/systemd/network/10-uplink.network");
  CHECK(owner.settings.at("IPv6AcceptRA") == "yes");  // the drop-in wins
  CHECK(networkd_missing(owner) == "IPv6ProxyNDP=yes");
  CHECK(ra_fix(owner, "eth0").find("/etc/systemd/network/10-uplink.network.d/ndpsync.conf") !=
        std::string::npos);
  CHECK(takes_ra_itself(owner.manager));
  // Another link's state says nothing about eth0.
  CHECK(root.owner(3, "eth1").manager == LinkManager::kNone);
}

TEST_CASE("link manager: netplan's generated file; networkd's unmanaged links are not its") {
  Root root;
  root.write(
      "run/systemd/netif/links/2",
      std::string(kNetworkdState) + "NETWORK_FILE=/run/systemd/network/10-netplan-eth0.network\n");
  root.write("run/systemd/network/10-netplan-eth0.network",
             "[Match]\nName=eth0\n\n[Network]\nDHCP=ipv4\nIPv6AcceptRA=yes\nIPv6ProxyNDP=yes\n");
  const auto owner = root.owner();
  CHECK(owner.manager == LinkManager::kNetplan);
  CHECK(to_string(owner.manager) == "netplan (systemd-networkd)");
  CHECK(networkd_missing(owner).empty());
  root.write("run/systemd/netif/links/2", "ADMIN_STATE=unmanaged\nOPER_STATE=routable\n");
  CHECK(root.owner().manager == LinkManager::kNone);
}

TEST_CASE("link manager: NetworkManager's device file") {
  Root root;
  root.write("run/systemd/netif/links/2", "ADMIN_STATE=unmanaged\n");
  root.write("run/NetworkManager/devices/2",
             "[device]\nmanaged=true\nperm-hw-addr-fake=\n"
             "connection-uuid=0d3c2d6e-8c6b-4d43-9a53-5b3a5d2f3b11\n");
  const auto owner = root.owner();
  CHECK(owner.manager == LinkManager::kNetworkManager);
  CHECK(owner.source == "0d3c2d6e-8c6b-4d43-9a53-5b3a5d2f3b11");
  const auto fix = ra_fix(owner, "eth0");
  CHECK(fix.find("accept_ra=2") == std::string::npos);
  CHECK(fix.find("ipv6.method auto") != std::string::npos);
  CHECK(networkd_missing(owner).empty());
  root.write("run/NetworkManager/devices/2", "[device]\nmanaged=false\n");
  CHECK(root.owner().manager == LinkManager::kNone);
}

TEST_CASE("link manager: ifupdown and ifupdown2, by their state and stanzas") {
  Root root;
  root.write("etc/network/interfaces",
             "source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n");
  root.write("etc/network/interfaces.d/eth0", "allow-hotplug eth0\niface eth0 inet6 auto\n");
  CHECK(root.owner().manager == LinkManager::kNone);  // a stanza, but no ifupdown installed
  root.write("run/network/ifstate.eth0", "eth0\n");
  const auto owner = root.owner();
  CHECK(owner.manager == LinkManager::kIfupdown);
  CHECK(ra_fix(owner, "eth0").find("accept_ra 2 in the `iface eth0 inet6 auto` stanza") !=
        std::string::npos);
  CHECK_FALSE(takes_ra_itself(owner.manager));
  fs::create_directories(root.path / "usr/share/ifupdown2");
  const auto two = root.owner();
  CHECK(two.manager == LinkManager::kIfupdown2);
  // ifupdown2 ignores accept_ra outside inet6 dhcp stanzas: a post-up line, as
  // test_manager_ifupdown2.sh applies with ifreload -a.
  CHECK(ra_fix(two, "eth0")
            .find("post-up sysctl -w net.ipv6.conf.eth0.accept_ra=2 in the "
                  "`iface eth0` stanza") != std::string::npos);
  CHECK(ra_fix(two, "eth0").find("accept-ra") == std::string::npos);
  CHECK(root.owner(3, "eth1").manager == LinkManager::kNone);  // no stanza for eth1
}

TEST_CASE("link manager: nothing known owns it; the sysctl.d fix") {
  Root root;
  const auto owner = root.owner();
  CHECK(owner.manager == LinkManager::kNone);
  CHECK(ra_fix(owner, "eth0") ==
        "sysctl -w net.ipv6.conf.eth0.accept_ra=2, and the same line in /etc/sysctl.d/");
}
