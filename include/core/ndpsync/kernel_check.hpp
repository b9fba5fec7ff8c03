// Which known kernel defects touch what ndpsync relies on, from the kernel's version strings
// alone (uname -r and uname -v). Pure: the caller reads uname. `run` and `reconcile` log each
// defect at start; `ndpsync kernel-check` prints them. The ranges were found by probing
// (test/vm/kernel_facts.sh) and from the kernel's stable history; docs/design.md has the table.
#pragma once

#include <compare>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ndpsync {

// Whether the patch level (the z of x.y.z) is known. Ubuntu's "5.15.0-91-generic" hides it;
// Debian 12's "6.1.0-57-amd64" hides it in uname -v ("... Debian 6.1.192-3 ...").
enum class PatchLevel { kKnown, kUnknown };

struct KernelVersion {
  int major = 0;
  int minor = 0;
  int patch = 0;
  PatchLevel patch_level = PatchLevel::kKnown;

  // Compares major, minor and patch (patch 0 when unknown).
  [[nodiscard]] std::strong_ordering compare(int x, int y, int z) const;
  [[nodiscard]] std::string to_string() const;  // "6.1.192", or "5.15.x" when unknown
};

// Parses `uname -r` (release) and `uname -v` (version); nullopt when the release has no x.y.
std::optional<KernelVersion> parse_kernel_version(std::string_view release,
                                                  std::string_view version);

// kAffected: the version is in the defect's range. kPossibly: the series has the fix in some
// patch level, and this one is not known.
enum class Exposure { kAffected, kPossibly };

struct KernelDefect {
  std::string id;        // stable: "proxy-flush-on-carrier-loss", ...
  std::string summary;   // what goes wrong for ndpsync, and what ndpsync does about it
  std::string fixed_in;  // "6.1.149, 6.6.103, 6.12.43, 6.17"
  Exposure exposure = Exposure::kAffected;
};

struct KernelCheck {
  std::string release;
  std::optional<KernelVersion> version;  // nullopt: unparsable release, nothing is known
  std::vector<KernelDefect> defects;
};

KernelCheck check_kernel(std::string_view release, std::string_view version);

// One line per defect, for logs: "kernel 6.8.x: proxy-flush-on-carrier-loss (possibly): ...".
std::vector<std::string> kernel_check_lines(const KernelCheck& check);

}  // namespace ndpsync
