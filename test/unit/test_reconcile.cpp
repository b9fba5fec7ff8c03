#include "catch2_compat.hpp"

#include "lab.hpp"
#include "ndpsync/reconcile_once.hpp"
#include "ndpsync/report.hpp"

using namespace ndpsync;
using namespace ndpsync::testing;

namespace {

SysctlKey conf(const char* iface, const char* name) {
  return {SysctlKey::Tree::kConf, iface, name};
}

}  // namespace

TEST_CASE("reconcile installs the lab's entries and is idempotent") {
  FakeKernel kernel;
  build_lab(kernel);
  const auto first = reconcile_once(kernel, &kernel, Config{});
  CHECK_FALSE(first.failed());
  CHECK(first.plan.add.size() == 5);
  CHECK(first.plan.remove.empty());
  CHECK(kernel.proxies().size() == 5);
  for (const auto& entry : kernel.proxies()) {
    CHECK(entry.ifindex == kEth0);
    CHECK(entry.protocol == kOwner);
  }
  const int writes = kernel.add_calls;
  const auto second = reconcile_once(kernel, &kernel, Config{});
  CHECK(second.plan.empty());
  CHECK(second.plan.keep.size() == 5);
  CHECK(kernel.add_calls == writes);
  CHECK(second.sysctls.size() == first.sysctls.size());
  for (const auto& s : second.sysctls) CHECK(s.set.empty());
}

TEST_CASE("entries of other owners are never in a plan") {
  FakeKernel kernel;
  build_lab(kernel);
  kernel.put_proxy(kEth0, "2001:db8:0:1::1:2", 0);       // the admin's, for a container
  kernel.put_proxy(kEth0, "2001:db8:0:1::abc", 0);       // the admin's, for something else
  kernel.put_proxy(kEth0, "2001:db8:0:1::def", 42);      // another daemon's
  kernel.put_proxy(kEth0, "2001:db8:0:1::5:5", kOwner);  // ours, stale
  const auto report = reconcile_once(kernel, &kernel, Config{});
  for (const auto& e : report.plan.add) CHECK(e.address != ip("2001:db8:0:1::1:2"));
  REQUIRE(report.plan.remove.size() == 1);
  CHECK(report.plan.remove[0].address == ip("2001:db8:0:1::5:5"));
  CHECK(report.decision.foreign.size() == 3);
  CHECK(kernel.proxies().contains({kEth0, ip("2001:db8:0:1::1:2"), 0}));
  CHECK(kernel.proxies().contains({kEth0, ip("2001:db8:0:1::abc"), 0}));
  CHECK(kernel.proxies().contains({kEth0, ip("2001:db8:0:1::def"), 42}));
  const auto json = report_json(report);
  bool foreign_skip = false;
  for (const auto& s : json["skipped"]) {
    foreign_skip |= s["address"] == "2001:db8:0:1::1:2" && s["reason"] == "foreign";
  }
  CHECK(foreign_skip);
}

TEST_CASE("a container that leaves is removed; one that arrives is added") {
  FakeKernel kernel;
  build_lab(kernel);
  reconcile_once(kernel, &kernel, Config{});
  kernel.remove_neighbour(kBr0, "2001:db8:0:1::2:3");
  kernel.set_neighbour(kBr0, "2001:db8:0:1::2:4", kNudReachable);
  const auto report = reconcile_once(kernel, &kernel, Config{});
  REQUIRE(report.plan.remove.size() == 1);
  CHECK(report.plan.remove[0].address == ip("2001:db8:0:1::2:3"));
  REQUIRE(report.plan.add.size() == 1);
  CHECK(report.plan.add[0].address == ip("2001:db8:0:1::2:4"));
  CHECK_FALSE(kernel.has_proxy(kEth0, "2001:db8:0:1::2:3"));
}

TEST_CASE("nothing is removed while no uplink, or no uplink prefix, is known") {
  FakeKernel kernel;
  build_lab(kernel);
  reconcile_once(kernel, &kernel, Config{});
  kernel.remove_address(kEth0, "2001:db8:0:1:0:ff:fe00:2");  // networking restart, midway
  auto report = reconcile_once(kernel, &kernel, Config{});
  CHECK(report.decision.uplinks.at(0).held());
  CHECK(report.plan.remove.empty());
  kernel.remove_route("::/0", kEth0);
  // SLAAC's RA prefix route and the router's entry still name eth0 (find_slaac_uplink); it has
  // no prefix of its own right now, so it is held.
  report = reconcile_once(kernel, &kernel, Config{});
  REQUIRE(report.decision.uplinks.size() == 1);
  CHECK(report.decision.uplinks[0].source == UplinkSource::kSlaac);
  CHECK(report.decision.uplinks[0].held());
  CHECK(report.plan.remove.empty());
  kernel.remove_route("2001:db8:0:1::/64", kEth0);
  kernel.remove_neighbour(kEth0, "fe80::1");
  report = reconcile_once(kernel, &kernel, Config{});
  CHECK(report.decision.uplinks.empty());
  CHECK(report.plan.remove.empty());
  CHECK(kernel.proxies().size() == 5);
}

TEST_CASE("sysctls are set in the order that keeps the RA default route") {
  FakeKernel kernel;
  build_lab(kernel);
  const auto report = reconcile_once(kernel, &kernel, Config{});
  const std::vector<std::string> expected = {
      "net.ipv6.conf.eth0.accept_ra=2",  "net.ipv6.conf.all.proxy_ndp=1",
      "net.ipv6.conf.eth0.proxy_ndp=1",  "net.ipv6.conf.all.forwarding=1",
      "net.ipv6.conf.eth0.forwarding=1", "net.ipv6.neigh.eth0.proxy_delay=0"};
  CHECK(kernel.sysctl_writes == expected);
  const auto found = std::find_if(report.sysctls.begin(), report.sysctls.end(),
                                  [](const SysctlState& s) { return s.key.name == "accept_ra"; });
  REQUIRE(found != report.sysctls.end());
  CHECK(found->found == "1");
  CHECK(found->set == "2");
}

TEST_CASE("accept_ra is left alone unless it was 1") {
  for (const char* value : {"0", "2"}) {
    INFO(value);
    FakeKernel kernel;
    build_lab(kernel);
    kernel.sysctls[conf("eth0", "accept_ra")] = value;
    reconcile_once(kernel, &kernel, Config{});
    CHECK(kernel.sysctls[conf("eth0", "accept_ra")] == value);
  }
}

TEST_CASE("--no-sysctl and proxy_delay_ms: null leave the kernel's values") {
  FakeKernel kernel;
  build_lab(kernel);
  Config config;
  config.manage_sysctls = false;
  reconcile_once(kernel, &kernel, config);
  CHECK(kernel.sysctl_writes.empty());
  config.manage_sysctls = true;
  config.proxy_delay_ms.reset();
  reconcile_once(kernel, &kernel, config);
  CHECK(kernel.sysctls[{SysctlKey::Tree::kNeigh, "eth0", "proxy_delay"}] == "80");
  config.proxy_delay_ms = 250;
  reconcile_once(kernel, &kernel, config);
  CHECK(kernel.sysctls[{SysctlKey::Tree::kNeigh, "eth0", "proxy_delay"}] == "25");
}

TEST_CASE("a dry run changes nothing and reports what it would do") {
  FakeKernel kernel;
  build_lab(kernel);
  Config config;
  config.dry_run = true;
  const auto report = reconcile_once(kernel, &kernel, config);
  CHECK(report.plan.add.size() == 5);
  CHECK(kernel.proxies().empty());
  CHECK(kernel.sysctl_writes.empty());
  CHECK(report_text(report).find("would add 2001:db8:0:1::1:2 on eth0") != std::string::npos);
}

TEST_CASE("a failed write is reported and the rest is still applied") {
  FakeKernel kernel;
  build_lab(kernel);
  kernel.fail_add.insert(ip("2001:db8:0:1::2:2"));
  const auto report = reconcile_once(kernel, &kernel, Config{});
  CHECK(report.failed());
  REQUIRE(report.failures.size() == 1);
  CHECK(report.failures[0].target == "2001:db8:0:1::2:2");
  CHECK(kernel.proxies().size() == 4);
  CHECK(report_json(report)["errors"].size() == 1);
}

TEST_CASE("the report JSON carries the documented keys") {
  FakeKernel kernel;
  build_lab(kernel);
  const auto json = report_json(reconcile_once(kernel, &kernel, Config{}));
  for (const char* key :
       {"schema", "version", "mode", "dry_run", "uplinks", "missing_uplinks", "sysctls",
        "downstream", "added", "removed", "kept", "foreign", "skipped", "capped_macs", "errors"}) {
    INFO(key);
    CHECK(json.contains(key));
  }
  CHECK(json["schema"] == 1);
  CHECK(json["uplinks"][0]["name"] == "eth0");
  CHECK(json["uplinks"][0]["prefixes"][0] == "2001:db8:0:1::/64");
  CHECK(json["added"].size() == 5);
  CHECK(json["added"][0].contains("source"));
}

TEST_CASE("unconfirmed neighbours are probed before they are claimed") {
  struct Case {
    const char* description;
    NudState answer;  // what the kernel reports after the probe; kNudNone: silence
    bool claimed;
  };
  const Case cases[] = {
      {.description = "a live container answers", .answer = kNudReachable, .claimed = true},
      {.description = "a departed container fails", .answer = kNudFailed, .claimed = false},
      {.description = "no verdict in time: benefit of the doubt",
       .answer = kNudNone,
       .claimed = true},
  };
  for (const auto& c : cases) {
    INFO(c.description);
    FakeKernel kernel;
    build_lab(kernel);  // ::2:2 is STALE on br0
    kernel.on_wait = [&kernel, answer = c.answer] {
      if (answer != kNudNone && !kernel.probes.empty()) {
        kernel.set_neighbour(kBr0, "2001:db8:0:1::2:2", answer);
        kernel.probes.clear();
      }
    };
    const auto report = reconcile_once(kernel, &kernel, Config{});
    CHECK(report.verified == 1);
    CHECK(kernel.has_proxy(kEth0, "2001:db8:0:1::2:2") == c.claimed);
    CHECK(kernel.has_proxy(kEth0, "2001:db8:0:1::2:3"));  // REACHABLE: trusted, not probed
  }
}

TEST_CASE("verification is skipped when turned off, and in a dry run") {
  FakeKernel kernel;
  build_lab(kernel);
  Config config;
  config.verify_neighbours = false;
  CHECK(reconcile_once(kernel, &kernel, config).verified == 0);
  CHECK(kernel.probes.empty());
  config.verify_neighbours = true;
  config.dry_run = true;
  CHECK(reconcile_once(kernel, &kernel, config).verified == 0);
  CHECK(kernel.probes.empty());
}
