#include "ndpsync/link_manager.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <vector>

namespace ndpsync {
namespace {

namespace fs = std::filesystem;

std::optional<std::string> read_text(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string_view trim(std::string_view s) {
  const auto begin = s.find_first_not_of(" \t\r");
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(" \t\r") - begin + 1);
}

// KEY=value lines (networkd's state files, NetworkManager's device files).
std::optional<std::string> value_of(const std::string& text, std::string_view key) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const auto t = trim(line);
    if (t.size() > key.size() && t.substr(0, key.size()) == key && t[key.size()] == '=') {
      return std::string(trim(t.substr(key.size() + 1)));
    }
  }
  return std::nullopt;
}

// The [Network] section's settings of one .network file or drop-in, into `out`.
void read_network_section(const std::string& text, std::map<std::string, std::string>& out) {
  std::istringstream lines(text);
  bool in_network = false;
  for (std::string line; std::getline(lines, line);) {
    const auto t = trim(line);
    if (t.empty() || t.front() == '#' || t.front() == ';') continue;
    if (t.front() == '[') {
      in_network = t == "[Network]";
      continue;
    }
    const auto eq = t.find('=');
    if (in_network && eq != std::string_view::npos) {
      out[std::string(trim(t.substr(0, eq)))] = std::string(trim(t.substr(eq + 1)));
    }
  }
}

// The file, then its drop-ins (<file name>.d/*.conf in /etc and /run), in name order.
std::map<std::string, std::string> networkd_settings(const fs::path& root, const fs::path& file) {
  std::map<std::string, std::string> settings;
  if (const auto text = read_text(root / file.relative_path())) {
    read_network_section(*text, settings);
  }
  std::vector<fs::path> dropins;
  for (const char* dir : {"etc/systemd/network", "run/systemd/network"}) {
    std::error_code ec;
    for (const auto& entry :
         fs::directory_iterator(root / dir / (file.filename().string() + ".d"), ec)) {
      if (entry.path().extension() == ".conf") dropins.push_back(entry.path());
    }
  }
  std::sort(dropins.begin(), dropins.end(),
            [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });
  for (const auto& path : dropins) {
    if (const auto text = read_text(path)) read_network_section(*text, settings);
  }
  return settings;
}

// An `iface NAME ...` stanza in /etc/network/interfaces or interfaces.d/.
bool has_iface_stanza(const fs::path& root, std::string_view name) {
  std::vector<fs::path> files{root / "etc/network/interfaces"};
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root / "etc/network/interfaces.d", ec)) {
    files.push_back(entry.path());
  }
  const auto stanza = "iface " + std::string(name) + " ";
  for (const auto& file : files) {
    const auto text = read_text(file);
    if (!text) continue;
    std::istringstream lines(*text);
    for (std::string line; std::getline(lines, line);) {
      if (trim(line).substr(0, stanza.size()) == stanza) return true;
    }
  }
  return false;
}

bool truthy(const std::map<std::string, std::string>& settings, const char* key) {
  const auto it = settings.find(key);
  return it != settings.end() &&
         (it->second == "yes" || it->second == "true" || it->second == "1" || it->second == "on");
}

}  // namespace

std::string_view to_string(LinkManager manager) {
  switch (manager) {
    case LinkManager::kNone: return "none";
    case LinkManager::kNetworkd: return "systemd-networkd";
    case LinkManager::kNetplan: return "netplan (systemd-networkd)";
    case LinkManager::kNetworkManager: return "NetworkManager";
    case LinkManager::kIfupdown: return "ifupdown";
    case LinkManager::kIfupdown2: return "ifupdown2";
  }
  return "?";
}

LinkOwner find_link_owner(const fs::path& root, IfIndex index, std::string_view name) {
  const auto id = std::to_string(index);
  if (const auto state = read_text(root / "run/systemd/netif/links" / id)) {
    const auto admin = value_of(*state, "ADMIN_STATE");
    const auto file = value_of(*state, "NETWORK_FILE").value_or("");
    if (admin && *admin != "unmanaged" && !file.empty()) {
      const bool netplan = file.find("/10-netplan-") != std::string::npos;
      return {.manager = netplan ? LinkManager::kNetplan : LinkManager::kNetworkd,
              .source = file,
              .settings = networkd_settings(root, file)};
    }
  }
  if (const auto device = read_text(root / "run/NetworkManager/devices" / id)) {
    if (value_of(*device, "managed") == "true") {
      return {.manager = LinkManager::kNetworkManager,
              .source = value_of(*device, "connection-uuid").value_or(""),
              .settings = {}};
    }
  }
  std::error_code ec;
  const bool stanza = has_iface_stanza(root, name);
  if (stanza && fs::is_directory(root / "usr/share/ifupdown2", ec)) {
    return {
        .manager = LinkManager::kIfupdown2, .source = "/etc/network/interfaces", .settings = {}};
  }
  if (fs::exists(root / "run/network" / ("ifstate." + std::string(name)), ec) ||
      (stanza && fs::exists(root / "sbin/ifup", ec))) {
    return {.manager = LinkManager::kIfupdown, .source = "/etc/network/interfaces", .settings = {}};
  }
  return {};
}

bool takes_ra_itself(LinkManager manager) {
  return manager == LinkManager::kNetworkd || manager == LinkManager::kNetplan ||
         manager == LinkManager::kNetworkManager;
}

std::string ra_fix(const LinkOwner& owner, std::string_view iface) {
  const std::string name(iface);
  switch (owner.manager) {
    case LinkManager::kNetworkd:
    case LinkManager::kNetplan: {
      const auto file =
          owner.source.empty() ? name + ".network" : fs::path(owner.source).filename().string();
      return "systemd-networkd takes the RAs itself, and stops on a link that forwards unless "
             "told: put [Network] IPv6AcceptRA=yes and IPv6ProxyNDP=yes in "
             "/etc/systemd/network/" +
             file + ".d/ndpsync.conf, then networkctl reload";
    }
    case LinkManager::kNetworkManager:
      return "nothing to set in the kernel: NetworkManager takes the RAs itself (accept_ra stays "
             "0) and puts the route back when the connection comes up; keep its IPv6 method "
             "auto (nmcli connection modify " +
             (owner.source.empty() ? "<connection>" : owner.source) + " ipv6.method auto)";
    case LinkManager::kIfupdown:
    case LinkManager::kIfupdown2:
      return ra_setting(owner, iface) + ", and sysctl -w net.ipv6.conf." + name +
             ".accept_ra=2 for now";
    case LinkManager::kNone: break;
  }
  return "sysctl -w net.ipv6.conf." + name + ".accept_ra=2, and the same line in /etc/sysctl.d/";
}

std::string ra_setting(const LinkOwner& owner, std::string_view iface) {
  const std::string name(iface);
  switch (owner.manager) {
    case LinkManager::kIfupdown:
      return "accept_ra 2 in the `iface " + name +
             " inet6 auto` stanza of /etc/network/interfaces (read at the next ifup)";
    case LinkManager::kIfupdown2:
      // ifupdown2 reads accept_ra in `inet6 dhcp` stanzas only (and has no `inet6 auto`).
      return "post-up sysctl -w net.ipv6.conf." + name + ".accept_ra=2 in the `iface " + name +
             "` stanza of /etc/network/interfaces (ifupdown2 reads accept_ra only in inet6 dhcp "
             "stanzas), then ifreload -a";
    case LinkManager::kNone:
      return "net.ipv6.conf." + name + ".accept_ra = 2 in a file in /etc/sysctl.d/";
    default: return ra_fix(owner, iface);
  }
}

std::string networkd_missing(const LinkOwner& owner) {
  if (owner.manager != LinkManager::kNetworkd && owner.manager != LinkManager::kNetplan) return {};
  std::string missing;
  for (const char* key : {"IPv6AcceptRA", "IPv6ProxyNDP"}) {
    if (truthy(owner.settings, key)) continue;
    missing += (missing.empty() ? "" : ", ") + std::string(key) + "=yes";
  }
  return missing;
}

}  // namespace ndpsync
