// The sysctl plan (pure) and its executor on the fake kernel: the order that keeps the host's
// RA default route, and the global writes held back while an interface would lose it.
#include <algorithm>

#include "catch2_compat.hpp"

#include "lab.hpp"
#include "ndpsync/reconcile_once.hpp"
#include "ndpsync/report.hpp"
#include "ndpsync/sysctl_plan.hpp"

using namespace ndpsync;
using namespace ndpsync::testing;

namespace {

SysctlKey conf(const char* iface, const char* name) {
  return {SysctlKey::Tree::kConf, iface, name};
}

// The host's sysctls as a fresh boot leaves them: forwarding and proxy_ndp off, accept_ra 1.
std::map<SysctlKey, std::string> boot_values(const std::vector<std::string>& ifaces) {
  std::map<SysctlKey, std::string> values = {{conf("all", "proxy_ndp"), "0"},
                                             {conf("all", "forwarding"), "0"}};
  for (const auto& i : ifaces) {
    values[{SysctlKey::Tree::kConf, i, "accept_ra"}] = "1";
    values[{SysctlKey::Tree::kConf, i, "proxy_ndp"}] = "0";
    values[{SysctlKey::Tree::kConf, i, "forwarding"}] = "0";
    values[{SysctlKey::Tree::kNeigh, i, "proxy_delay"}] = "80";
  }
  return values;
}

std::vector<std::string> written(const SysctlPlan& plan) {
  std::vector<std::string> out;
  for (const auto& w : plan.writes) out.push_back(w.key.to_string() + "=" + w.value);
  return out;
}

// Delegates to the fake, and fails the writes of one key with EACCES.
class FailingSysctl final : public KernelPort {
 public:
  FailingSysctl(FakeKernel& fake, SysctlKey key) : fake_(fake), key_(std::move(key)) {}
  Result<Snapshot> dump() override { return fake_.dump(); }
  Result<std::vector<ProxyEntry>> dump_proxies() override { return fake_.dump_proxies(); }
  Status add_proxy(const ProxyEntry& e) override { return fake_.add_proxy(e); }
  Status delete_proxy(const ProxyEntry& e) override { return fake_.delete_proxy(e); }
  Status probe_neighbour(IfIndex i, const Ipv6Address& a) override {
    return fake_.probe_neighbour(i, a);
  }
  Status delete_neighbour(IfIndex i, const Ipv6Address& a) override {
    return fake_.delete_neighbour(i, a);
  }
  Result<std::string> read_sysctl(const SysctlKey& k) override { return fake_.read_sysctl(k); }
  Status write_sysctl(const SysctlKey& k, const std::string& v) override {
    if (k == key_) return {.error = EACCES, .message = "EACCES (Permission denied)"};
    return fake_.write_sysctl(k, v);
  }

 private:
  FakeKernel& fake_;
  SysctlKey key_;
};

const std::vector<std::string> kFullSet = {
    "net.ipv6.conf.eth0.accept_ra=2",  "net.ipv6.conf.all.proxy_ndp=1",
    "net.ipv6.conf.eth0.proxy_ndp=1",  "net.ipv6.conf.all.forwarding=1",
    "net.ipv6.conf.eth0.forwarding=1", "net.ipv6.neigh.eth0.proxy_delay=0"};

}  // namespace

TEST_CASE("sysctl plan: the global writes wait until every RA default route is safe") {
  struct Case {
    const char* description;
    std::vector<std::string> uplinks;
    std::vector<std::string> ra_holders;
    std::map<std::string, std::string> accept_ra;  // overrides; "-" : unreadable
    std::vector<std::string> writes;
    std::vector<std::string> blockers;
  };
  const Case cases[] = {
      {.description = "the uplink holds the RA route: accept_ra=2 first, then the rest",
       .uplinks = {"eth0"},
       .ra_holders = {"eth0"},
       .writes = kFullSet},
      {.description = "no uplink at all (a typo'd --uplink): nothing",
       .uplinks = {},
       .ra_holders = {"eth0"}},
      {.description = "another interface holds the RA route with accept_ra=1: blocked",
       .uplinks = {"eth1"},
       .ra_holders = {"eth0"},
       .writes = {"net.ipv6.conf.eth1.accept_ra=2", "net.ipv6.conf.eth1.proxy_ndp=1",
                  "net.ipv6.neigh.eth1.proxy_delay=0"},
       .blockers = {"eth0"}},
      {.description = "its accept_ra cannot be read: blocked",
       .uplinks = {"eth1"},
       .ra_holders = {"eth0"},
       .accept_ra = {{"eth0", "-"}},
       .writes = {"net.ipv6.conf.eth1.accept_ra=2", "net.ipv6.conf.eth1.proxy_ndp=1",
                  "net.ipv6.neigh.eth1.proxy_delay=0"},
       .blockers = {"eth0"}},
      {.description = "its accept_ra is 2: it keeps the route, not blocked",
       .uplinks = {"eth1"},
       .ra_holders = {"eth0"},
       .accept_ra = {{"eth0", "2"}},
       .writes = {"net.ipv6.conf.eth1.accept_ra=2", "net.ipv6.conf.all.proxy_ndp=1",
                  "net.ipv6.conf.eth1.proxy_ndp=1", "net.ipv6.conf.all.forwarding=1",
                  "net.ipv6.conf.eth1.forwarding=1", "net.ipv6.neigh.eth1.proxy_delay=0"}},
      {.description = "its accept_ra is 0: it takes no RA, the route is a leftover",
       .uplinks = {"eth1"},
       .ra_holders = {"eth0"},
       .accept_ra = {{"eth0", "0"}},
       .writes = {"net.ipv6.conf.eth1.accept_ra=2", "net.ipv6.conf.all.proxy_ndp=1",
                  "net.ipv6.conf.eth1.proxy_ndp=1", "net.ipv6.conf.all.forwarding=1",
                  "net.ipv6.conf.eth1.forwarding=1", "net.ipv6.neigh.eth1.proxy_delay=0"}},
      {.description = "its manager takes the RAs (accept_ra 0): 2 across the forwarding, then 0",
       .uplinks = {"eth0"},
       .ra_holders = {"eth0"},
       .accept_ra = {{"eth0", "0"}},
       .writes = {"net.ipv6.conf.eth0.accept_ra=2", "net.ipv6.conf.all.proxy_ndp=1",
                  "net.ipv6.conf.eth0.proxy_ndp=1", "net.ipv6.conf.all.forwarding=1",
                  "net.ipv6.conf.eth0.forwarding=1", "net.ipv6.conf.eth0.accept_ra=0",
                  "net.ipv6.neigh.eth0.proxy_delay=0"}},
      {.description = "accept_ra 0 and no RA route of its own: nothing to keep, 0 stays",
       .uplinks = {"eth0"},
       .accept_ra = {{"eth0", "0"}},
       .writes = {"net.ipv6.conf.all.proxy_ndp=1", "net.ipv6.conf.eth0.proxy_ndp=1",
                  "net.ipv6.conf.all.forwarding=1", "net.ipv6.conf.eth0.forwarding=1",
                  "net.ipv6.neigh.eth0.proxy_delay=0"}},
      {.description = "two uplinks, both RA holders: both settled first",
       .uplinks = {"eth0", "eth1"},
       .ra_holders = {"eth0", "eth1"},
       .writes = {"net.ipv6.conf.eth0.accept_ra=2", "net.ipv6.conf.eth1.accept_ra=2",
                  "net.ipv6.conf.all.proxy_ndp=1", "net.ipv6.conf.eth0.proxy_ndp=1",
                  "net.ipv6.conf.eth1.proxy_ndp=1", "net.ipv6.conf.all.forwarding=1",
                  "net.ipv6.conf.eth0.forwarding=1", "net.ipv6.conf.eth1.forwarding=1",
                  "net.ipv6.neigh.eth0.proxy_delay=0", "net.ipv6.neigh.eth1.proxy_delay=0"}},
  };
  for (const auto& c : cases) {
    INFO(c.description);
    std::vector<std::string> all = c.uplinks;
    all.insert(all.end(), c.ra_holders.begin(), c.ra_holders.end());
    auto current = boot_values(all);
    for (const auto& [iface, value] : c.accept_ra) {
      const SysctlKey key{SysctlKey::Tree::kConf, iface, "accept_ra"};
      if (value == "-") {
        current.erase(key);
      } else {
        current[key] = value;
      }
    }
    std::vector<Uplink> uplinks;
    for (const auto& name : c.uplinks) uplinks.push_back({.index = 2, .name = name});
    const auto plan = plan_sysctls(Config{}, uplinks, c.ra_holders, current);
    CHECK(written(plan) == c.writes);
    std::vector<std::string> blockers;
    for (const auto& b : plan.blockers) blockers.push_back(b.iface);
    CHECK(blockers == c.blockers);
  }
}

TEST_CASE("sysctl plan: nothing global to write, nothing to block") {
  auto current = boot_values({"eth0", "eth1"});
  current[conf("all", "proxy_ndp")] = "1";
  current[conf("all", "forwarding")] = "1";
  current[conf("eth1", "forwarding")] = "1";
  current[conf("eth1", "accept_ra")] = "2";
  const auto plan = plan_sysctls(Config{}, {{.index = 3, .name = "eth1"}}, {"eth0"}, current);
  CHECK(plan.blockers.empty());
  CHECK(written(plan) == std::vector<std::string>{"net.ipv6.conf.eth1.proxy_ndp=1",
                                                  "net.ipv6.neigh.eth1.proxy_delay=0"});
}

TEST_CASE("sysctl plan: the blocker's message names the interface and the fix") {
  const auto text = SysctlBlocker{.iface = "eth0", .accept_ra = "1"}.message();
  CHECK(text.find("interface eth0 holds the host's RA-learned default route") != std::string::npos);
  CHECK(text.find("--uplink eth0") != std::string::npos);
  CHECK(text.find("net.ipv6.conf.eth0.accept_ra=2") != std::string::npos);
}

TEST_CASE("RA default holders: default routes learned from an RA, by interface name") {
  Snapshot snapshot;
  snapshot.links = {
      {.index = 2, .name = "eth0"}, {.index = 3, .name = "eth1"}, {.index = 4, .name = "eth2"}};
  const auto route = [](const char* destination, IfIndex oif, std::uint8_t protocol) {
    return Route{.destination = prefix(destination), .oif = oif, .protocol = protocol};
  };
  snapshot.routes = {route("::/0", 2, 9),              // RA default: counts
                     route("2001:db8:1::/64", 3, 9),   // RA prefix route: not a default
                     route("::/0", 4, 3),              // static default (boot): kept anyway
                     route("::/0", 2, 9),              // a second router on eth0
                     route("2001:db8:2::/64", 2, 2)};  // kernel
  snapshot.routes[3].gateway = ip("fe80::2");
  ObservedState observed;
  observed.replace(snapshot);
  CHECK(ra_default_holders(observed) == std::vector<std::string>{"eth0"});
}

TEST_CASE("a typo'd uplink writes no global sysctl and fails the run") {
  FakeKernel kernel;
  build_lab(kernel);  // eth0 holds the RA default route, accept_ra=1
  Config config;
  config.uplinks = {"eht0"};
  const auto report = reconcile_once(kernel, &kernel, config);
  CHECK(kernel.sysctl_writes.empty());
  CHECK(kernel.sysctls[conf("all", "forwarding")] == "0");
  REQUIRE(report.failed());
  CHECK(report.failures[0].operation == "uplink");
  CHECK(report.failures[0].target == "eht0");
  CHECK(report_text(report).find("error: uplink eht0: configured uplink is not present") !=
        std::string::npos);
}

TEST_CASE("an uplink that is not the RA route's interface leaves the globals alone") {
  FakeKernel kernel;
  build_lab(kernel);
  Config config;
  config.uplinks = {"vc1"};  // exists, but the host's RA default route is on eth0
  config.downstream = {"br0"};
  const auto report = reconcile_once(kernel, &kernel, config);
  for (const auto& w : kernel.sysctl_writes) {
    INFO(w);
    CHECK(w.find("all.") == std::string::npos);
    CHECK(w.find("forwarding") == std::string::npos);
  }
  CHECK(kernel.sysctls[conf("eth0", "accept_ra")] == "1");
  REQUIRE(report.failed());
  CHECK(report.failures[0].operation == "sysctl");
  CHECK(report.failures[0].target == "eth0");
  CHECK(report.failures[0].status.message.find("accept_ra=2") != std::string::npos);
}

TEST_CASE("a failed accept_ra=2 stops every write that would drop the RA route") {
  FakeKernel fake;
  build_lab(fake);
  FailingSysctl kernel(fake, conf("eth0", "accept_ra"));
  const auto report = reconcile_once(kernel, &fake, Config{});
  CHECK(fake.sysctl_writes == std::vector<std::string>{"net.ipv6.conf.eth0.proxy_ndp=1",
                                                       "net.ipv6.neigh.eth0.proxy_delay=0"});
  CHECK(fake.sysctls[conf("all", "forwarding")] == "0");
  CHECK(report.failed());
}

TEST_CASE("sysctl plan: accept_ra 0 is held at 2 only across forwarding writes") {
  auto current = boot_values({"eth0"});
  current[conf("eth0", "accept_ra")] = "0";
  current[conf("all", "forwarding")] = "1";
  current[conf("eth0", "forwarding")] = "1";
  const auto plan = plan_sysctls(Config{}, {{.index = 2, .name = "eth0"}}, {"eth0"}, current);
  CHECK(written(plan) == std::vector<std::string>{"net.ipv6.conf.all.proxy_ndp=1",
                                                  "net.ipv6.conf.eth0.proxy_ndp=1",
                                                  "net.ipv6.neigh.eth0.proxy_delay=0"});
}

TEST_CASE("a network manager's RA default route survives forwarding (accept_ra 0, 2, 0)") {
  FakeKernel kernel;
  build_lab(kernel);                                // eth0 holds the RA default route
  kernel.sysctls[conf("eth0", "accept_ra")] = "0";  // as NetworkManager and networkd set it
  const auto report = reconcile_once(kernel, &kernel, Config{});
  CHECK_FALSE(report.failed());
  CHECK(kernel.has_default_route(kEth0));  // the fake purges on every forwarding write
  CHECK(kernel.sysctls[conf("all", "forwarding")] == "1");
  CHECK(kernel.sysctls[conf("eth0", "accept_ra")] == "0");
  CHECK(kernel.sysctl_writes.front() == "net.ipv6.conf.eth0.accept_ra=2");
  CHECK(std::find(kernel.sysctl_writes.begin(), kernel.sysctl_writes.end(),
                  "net.ipv6.conf.eth0.accept_ra=0") != kernel.sysctl_writes.end());
}

TEST_CASE("accept_ra goes back to 0 even when a forwarding write fails") {
  FakeKernel fake;
  build_lab(fake);
  fake.sysctls[conf("eth0", "accept_ra")] = "0";
  FailingSysctl kernel(fake, conf("all", "forwarding"));
  const auto report = reconcile_once(kernel, &fake, Config{});
  CHECK(report.failed());
  CHECK(fake.sysctls[conf("eth0", "accept_ra")] == "0");
}
