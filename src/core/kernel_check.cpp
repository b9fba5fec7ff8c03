#include "ndpsync/kernel_check.hpp"

#include <array>
#include <charconv>

namespace ndpsync {

namespace {

// Reads a decimal number at text[pos]; advances pos. nullopt when there is no digit.
std::optional<int> read_number(std::string_view text, std::size_t& pos) {
  int value = 0;
  const auto* first = text.data() + pos;
  const auto* last = text.data() + text.size();
  const auto [end, error] = std::from_chars(first, last, value);
  if (error != std::errc{} || end == first) {
    return std::nullopt;
  }
  pos += static_cast<std::size_t>(end - first);
  return value;
}

// Debian's uname -v names the package version: "... Debian 6.1.192-3 (2026-11-26)".
std::optional<int> debian_patch(std::string_view version, int major, int minor) {
  const std::string wanted = "Debian " + std::to_string(major) + "." + std::to_string(minor) + ".";
  const auto at = version.find(wanted);
  if (at == std::string_view::npos) {
    return std::nullopt;
  }
  std::size_t pos = at + wanted.size();
  return read_number(version, pos);
}

struct Triple {
  int major;
  int minor;
  int patch;
};

// One defect: kernels from `introduced` up to (not including) the mainline release `fixed`,
// except the stable series that took the fix in a patch level (`backports`).
struct DefectRule {
  const char* id;
  const char* summary;
  const char* fixed_in;
  Triple introduced;
  Triple fixed;
  std::array<Triple, 3> backports;  // {0, 0, 0} = unused slot
};

constexpr std::array<DefectRule, 3> kRules{{
    {"no-proxy-protocol",
     "proxy entries have no NDA_PROTOCOL before 5.0: ndpsync cannot tag its entries, so it "
     "cannot tell them from an admin's",
     "5.0",
     {0, 0, 0},
     {5, 0, 0},
     {}},
    {"proxy-flush-on-carrier-loss",
     "the kernel flushes every proxy entry of the uplink when it loses carrier (not only on "
     "admin down): `ndpsync run` re-adds them when the link comes back; after a one-shot "
     "`reconcile` they stay missing until the next run",
     "6.1.149, 6.6.103, 6.12.43, 6.17",
     {0, 0, 0},
     {6, 17, 0},
     {{{6, 1, 149}, {6, 6, 103}, {6, 12, 43}}}},
    {"proxy-protocol-wiped-on-update",
     "an update of an existing proxy entry without NDA_PROTOCOL (`ip neigh replace proxy ...` "
     "by an admin or another tool) clears the owner tag: ndpsync then sees its own entry as "
     "foreign and never withdraws it",
     "6.18.19, 6.19.9, 7.0",
     {6, 17, 0},
     {7, 0, 0},
     {{{6, 18, 19}, {6, 19, 9}, {0, 0, 0}}}},
}};

std::optional<Exposure> exposure_to(const DefectRule& rule, const KernelVersion& v) {
  if (std::is_lt(v.compare(rule.introduced.major, rule.introduced.minor, rule.introduced.patch)) ||
      std::is_gteq(v.compare(rule.fixed.major, rule.fixed.minor, rule.fixed.patch))) {
    return std::nullopt;
  }
  for (const auto& b : rule.backports) {
    if (b.major == v.major && b.minor == v.minor && b.major != 0) {
      if (v.patch_level == PatchLevel::kUnknown) {
        return Exposure::kPossibly;
      }
      return v.patch < b.patch ? std::optional(Exposure::kAffected) : std::nullopt;
    }
  }
  return Exposure::kAffected;
}

}  // namespace

std::strong_ordering KernelVersion::compare(int x, int y, int z) const {
  if (auto c = major <=> x; std::is_neq(c)) return c;
  if (auto c = minor <=> y; std::is_neq(c)) return c;
  return patch <=> z;
}

std::string KernelVersion::to_string() const {
  return std::to_string(major) + "." + std::to_string(minor) + "." +
         (patch_level == PatchLevel::kKnown ? std::to_string(patch) : std::string("x"));
}

std::optional<KernelVersion> parse_kernel_version(std::string_view release,
                                                  std::string_view version) {
  std::size_t pos = 0;
  KernelVersion v;
  const auto major = read_number(release, pos);
  if (!major || pos >= release.size() || release[pos] != '.') {
    return std::nullopt;
  }
  ++pos;
  const auto minor = read_number(release, pos);
  if (!minor) {
    return std::nullopt;
  }
  v.major = *major;
  v.minor = *minor;
  if (pos < release.size() && release[pos] == '.') {
    ++pos;
    v.patch = read_number(release, pos).value_or(0);
  }
  // "x.y.0-N-flavour" is a distribution's ABI name (Debian, Ubuntu), not patch level 0.
  const bool abi_name = v.patch == 0 && pos + 1 < release.size() && release[pos] == '-' &&
                        release[pos + 1] >= '0' && release[pos + 1] <= '9';
  if (abi_name) {
    const auto debian = debian_patch(version, v.major, v.minor);
    v.patch = debian.value_or(0);
    v.patch_level = debian ? PatchLevel::kKnown : PatchLevel::kUnknown;
  }
  return v;
}

KernelCheck check_kernel(std::string_view release, std::string_view version) {
  KernelCheck check{.release = std::string(release),
                    .version = parse_kernel_version(release, version),
                    .defects = {}};
  if (!check.version) {
    return check;
  }
  for (const auto& rule : kRules) {
    if (const auto exposure = exposure_to(rule, *check.version)) {
      check.defects.push_back({.id = rule.id,
                               .summary = rule.summary,
                               .fixed_in = rule.fixed_in,
                               .exposure = *exposure});
    }
  }
  return check;
}

std::vector<std::string> kernel_check_lines(const KernelCheck& check) {
  std::vector<std::string> lines;
  const std::string name =
      "kernel " + check.release +
      (check.version ? " (" + check.version->to_string() + ")" : std::string());
  for (const auto& d : check.defects) {
    lines.push_back(name + ": " + d.id +
                    (d.exposure == Exposure::kPossibly ? " (possibly; patch level unknown)" : "") +
                    ": " + d.summary + " (fixed in " + d.fixed_in + ")");
  }
  return lines;
}

}  // namespace ndpsync
