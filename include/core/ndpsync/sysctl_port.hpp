// The /proc/sys half of the kernel seam: IPv6 sysctls, read and written as text. The real one
// reads and writes files under /proc/sys/net/ipv6; test/unit has a fake that also models what a
// write does to the routing table.
#pragma once

#include <cstdint>
#include <string>

#include "ndpsync/result.hpp"

namespace ndpsync {

// A sysctl under /proc/sys/net/ipv6: conf/<iface>/<name> or neigh/<iface>/<name>.
struct SysctlKey {
  enum class Tree : std::uint8_t { kConf, kNeigh };
  Tree tree = Tree::kConf;
  std::string iface;  // "all", "default" or an interface name
  std::string name;

  [[nodiscard]] std::string to_string() const;  // "net.ipv6.conf.all.forwarding"
  // clang-tidy 14 takes the synthesized comparisons' 0 for a null pointer.
  // NOLINTNEXTLINE(modernize-use-nullptr)
  auto operator<=>(const SysctlKey&) const = default;
};

class SysctlPort {
 public:
  virtual ~SysctlPort() = default;

  virtual Result<std::string> read_sysctl(const SysctlKey& key) = 0;
  virtual Status write_sysctl(const SysctlKey& key, const std::string& value) = 0;
};

}  // namespace ndpsync
