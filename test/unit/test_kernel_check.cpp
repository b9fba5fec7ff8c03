#include "catch2_compat.hpp"

#include "ndpsync/kernel_check.hpp"

using ndpsync::check_kernel;
using ndpsync::Exposure;
using ndpsync::parse_kernel_version;
using ndpsync::PatchLevel;

namespace {

std::vector<std::string> ids(const ndpsync::KernelCheck& check) {
  std::vector<std::string> out;
  for (const auto& d : check.defects) out.push_back(d.id);
  return out;
}

const std::string kCarrier = "proxy-flush-on-carrier-loss";
const std::string kProtocol = "proxy-protocol-wiped-on-update";

}  // namespace

TEST_CASE("kernel version: plain, Debian, Ubuntu and Proxmox release strings") {
  auto v = parse_kernel_version("6.18.44-fc-v669", "#1 SMP PREEMPT_DYNAMIC @0");
  REQUIRE(v);
  CHECK(v->to_string() == "6.18.44");

  // Debian 12: the ABI name in the release, the real patch level in uname -v.
  v = parse_kernel_version("6.1.0-57-amd64",
                           "#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-3 (2026-11-26)");
  REQUIRE(v);
  CHECK(v->to_string() == "6.1.192");
  CHECK(v->patch_level == PatchLevel::kKnown);

  v = parse_kernel_version("6.12.117+deb12-amd64",
                           "#1 SMP PREEMPT_DYNAMIC Debian 6.12.117-1~deb12u1 (2026-11-14)");
  REQUIRE(v);
  CHECK(v->to_string() == "6.12.117");

  // Ubuntu: the patch level is nowhere in uname.
  v = parse_kernel_version("5.15.0-91-generic", "#101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023");
  REQUIRE(v);
  CHECK(v->patch_level == PatchLevel::kUnknown);
  CHECK(v->to_string() == "5.15.x");

  v = parse_kernel_version("6.8.12-4-pve", "#1 SMP PREEMPT_DYNAMIC PMX 6.8.12-4");
  REQUIRE(v);
  CHECK(v->to_string() == "6.8.12");

  v = parse_kernel_version("6.17.0", "");  // a mainline release is patch level 0
  REQUIRE(v);
  CHECK(v->patch_level == PatchLevel::kKnown);
  CHECK(v->to_string() == "6.17.0");

  CHECK_FALSE(parse_kernel_version("", ""));
  CHECK_FALSE(parse_kernel_version("linux", ""));
  CHECK_FALSE(parse_kernel_version("6", ""));
}

TEST_CASE("kernel check: the kernels the suite runs on have no known defect") {
  CHECK(ids(check_kernel("6.18.44-fc-v669", "#1 SMP PREEMPT_DYNAMIC @0")).empty());
  CHECK(ids(check_kernel("6.1.0-57-amd64", "#1 SMP Debian 6.1.192-3 (2026-11-26)")).empty());
  CHECK(ids(check_kernel("6.12.117+deb12-amd64", "#1 SMP Debian 6.12.117-1~deb12u1")).empty());
}

TEST_CASE("kernel check: proxy entries flushed on carrier loss before c7d78566bbd3") {
  using V = std::vector<std::string>;
  CHECK(ids(check_kernel("6.1.148", "")) == V{kCarrier});
  CHECK(ids(check_kernel("6.1.149", "")).empty());
  CHECK(ids(check_kernel("6.6.102", "")) == V{kCarrier});
  CHECK(ids(check_kernel("6.6.103", "")).empty());
  CHECK(ids(check_kernel("6.12.42", "")) == V{kCarrier});
  CHECK(ids(check_kernel("6.12.43", "")).empty());
  CHECK(ids(check_kernel("6.16.12", "")) == V{kCarrier});  // no backport known
  CHECK(ids(check_kernel("6.17.0", "")) == V{kProtocol});  // fixed, but the next one starts
  // Debian 12's first kernels.
  CHECK(ids(check_kernel("6.1.0-9-amd64", "#1 SMP Debian 6.1.27-1 (2023-05-08)")) == V{kCarrier});
  // Ubuntu 22.04 and 24.04: no backport in the series at all, so certainly affected.
  auto ubuntu = check_kernel("5.15.0-91-generic", "#101-Ubuntu SMP");
  REQUIRE(ids(ubuntu) == V{kCarrier});
  CHECK(ubuntu.defects[0].exposure == Exposure::kAffected);
  CHECK(ids(check_kernel("6.8.0-45-generic", "#45-Ubuntu SMP")) == V{kCarrier});
  // A series with a backport, patch level unknown: possibly.
  auto hidden = check_kernel("6.12.0-1-amd64", "#1 SMP");
  REQUIRE(ids(hidden) == V{kCarrier});
  CHECK(hidden.defects[0].exposure == Exposure::kPossibly);
}

TEST_CASE("kernel check: NDA_PROTOCOL wiped by updates from 6.17 until the 2026 fix") {
  using V = std::vector<std::string>;
  CHECK(ids(check_kernel("6.16.0", "")) == V{kCarrier});
  CHECK(ids(check_kernel("6.17.13", "")) == V{kProtocol});
  CHECK(ids(check_kernel("6.18.0", "")) == V{kProtocol});
  CHECK(ids(check_kernel("6.18.18", "")) == V{kProtocol});
  CHECK(ids(check_kernel("6.18.19", "")).empty());
  CHECK(ids(check_kernel("6.19.8", "")) == V{kProtocol});
  CHECK(ids(check_kernel("6.19.9", "")).empty());
  CHECK(ids(check_kernel("7.0.0", "")).empty());
  CHECK(ids(check_kernel("7.1.3-arch1-1", "")).empty());
}

TEST_CASE("kernel check: before 5.0 proxy entries cannot carry an owner tag") {
  using V = std::vector<std::string>;
  CHECK(ids(check_kernel("4.19.0-25-amd64", "#1 SMP Debian 4.19.304-1")) ==
        V{"no-proxy-protocol", kCarrier});
  CHECK(ids(check_kernel("5.0.0", "")) == V{kCarrier});
}

TEST_CASE("kernel check: unparsable release strings know nothing") {
  auto check = check_kernel("weird", "");
  CHECK_FALSE(check.version);
  CHECK(check.defects.empty());
  CHECK(ndpsync::kernel_check_lines(check).empty());
}

TEST_CASE("kernel check: log lines name the kernel, the defect and the fix") {
  const auto lines = ndpsync::kernel_check_lines(check_kernel("6.12.0-1-amd64", "#1 SMP"));
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find("kernel 6.12.0-1-amd64 (6.12.x): proxy-flush-on-carrier-loss (possibly") ==
        0);
  CHECK(lines[0].find("6.12.43") != std::string::npos);
}
