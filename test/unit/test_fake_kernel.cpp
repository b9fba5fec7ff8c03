// The fake kernel's own model: what the agent's tests rely on the "kernel" doing. These check the
// fake against the kernel's behaviour (docs/design.md, "Kernel facts we rely on"), so that the
// agent's tests are not checking the agent against itself.
#include <cerrno>
#include "catch2_compat.hpp"

#include "lab.hpp"

using namespace ndpsync;
using namespace ndpsync::testing;

namespace {

using Call = FakeKernel::Call;

SysctlKey conf(std::string iface, std::string name) {
  return {SysctlKey::Tree::kConf, std::move(iface), std::move(name)};
}

std::vector<KernelEvent> drained(FakeKernel& kernel) {
  std::vector<KernelEvent> out;
  kernel.drain(out);
  return out;
}

std::vector<Route> deleted_routes(const std::vector<KernelEvent>& events) {
  std::vector<Route> out;
  for (const auto& event : events) {
    if (const auto* e = std::get_if<RouteEvent>(&event); e && e->change == Change::kDel) {
      out.push_back(e->route);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("fake kernel: admin down purges every proxy entry on that device, silently") {
  FakeKernel kernel;
  build_lab(kernel);
  kernel.put_proxy(kEth0, "2001:db8:0:1::2:2", kOwner);
  kernel.put_proxy(kEth0, "2001:db8:0:1::abc", 0);  // an admin's, any owner
  kernel.put_proxy(kBr0, "2001:db8:0:1::9", 0);     // another device's
  kernel.set_link_up(kEth0, false);
  CHECK(kernel.proxies() == std::set<ProxyEntry>{{kBr0, ip("2001:db8:0:1::9"), 0}});
  const auto events = drained(kernel);
  REQUIRE(events.size() == 1);  // the link change, and nothing about the proxies
  const auto* link = std::get_if<LinkEvent>(&events[0]);
  REQUIRE(link);
  CHECK_FALSE(link->link.up);
  CHECK(link->link.index == kEth0);
}

TEST_CASE("fake kernel: entries added while down survive going up; up twice purges nothing") {
  FakeKernel kernel;
  build_lab(kernel);
  kernel.set_link_up(kEth0, false);
  REQUIRE(kernel.add_proxy({kEth0, ip("2001:db8:0:1::2:2"), kOwner}).ok());
  kernel.set_link_up(kEth0, true);
  kernel.set_link_up(kEth0, true);
  CHECK(kernel.has_proxy(kEth0, "2001:db8:0:1::2:2"));
  kernel.set_link_up(kEth0, false);
  kernel.set_link_up(kEth0, false);
  CHECK(kernel.proxies().empty());
}

TEST_CASE("fake kernel: a deleted link takes its addresses, neighbours, routes and proxies") {
  FakeKernel kernel;
  build_lab(kernel);
  kernel.put_proxy(kEth0, "2001:db8:0:1::2:2", kOwner);
  kernel.remove_link(kEth0);
  CHECK(kernel.proxies().empty());
  CHECK_FALSE(kernel.has_default_route(kEth0));
  const auto snapshot = kernel.dump().value;
  for (const auto& a : snapshot.addresses) CHECK(a.ifindex != kEth0);
  for (const auto& n : snapshot.neighbours) CHECK(n.ifindex != kEth0);
  CHECK(kernel.add_proxy({kEth0, ip("2001:db8:0:1::2:2"), kOwner}).error == ENODEV);
}

TEST_CASE("fake kernel: forwarding=1 drops RA default routes where accept_ra is not 2") {
  FakeKernel kernel;
  build_lab(kernel);
  kernel.add_link({.index = 9, .name = "eth1", .up = true, .carrier = true});
  kernel.add_route("::/0", 9, "fe80::9");
  kernel.add_route({.destination = prefix("::/0"),
                    .oif = kVc1,
                    .gateway = ip("fe80::c2"),
                    .protocol = 4,  // static: not learned from an RA, never purged
                    .table = 254});
  kernel.sysctls[conf("eth1", "accept_ra")] = "2";
  kernel.drop_events();

  SECTION("on all") { REQUIRE(kernel.write_sysctl(conf("all", "forwarding"), "1").ok()); }
  SECTION("on one interface, for every interface") {
    REQUIRE(kernel.write_sysctl(conf("vc1", "forwarding"), "1").ok());
  }
  CHECK_FALSE(kernel.has_default_route(kEth0));  // accept_ra=1: purged
  CHECK(kernel.has_default_route(9));            // accept_ra=2: kept
  CHECK(kernel.has_default_route(kVc1));         // not from an RA: kept
  const auto gone = deleted_routes(drained(kernel));
  REQUIRE(gone.size() == 1);
  CHECK(gone[0].oif == kEth0);
  CHECK(gone[0].is_default());
  // The on-link prefix route learned with it stays.
  bool prefix_route = false;
  for (const auto& r : kernel.routes())
    prefix_route |= r.destination == prefix("2001:db8:0:1::/64");
  CHECK(prefix_route);
}

TEST_CASE("fake kernel: accept_ra=2 first keeps the route; forwarding=0 and default purge none") {
  FakeKernel kernel;
  build_lab(kernel);
  SECTION("accept_ra=2 before forwarding") {
    REQUIRE(kernel.write_sysctl(conf("eth0", "accept_ra"), "2").ok());
    REQUIRE(kernel.write_sysctl(conf("all", "forwarding"), "1").ok());
  }
  SECTION("forwarding=0") { REQUIRE(kernel.write_sysctl(conf("all", "forwarding"), "0").ok()); }
  SECTION("default.forwarding=1") {
    REQUIRE(kernel.write_sysctl(conf("default", "forwarding"), "1").ok());
  }
  SECTION("proxy_ndp=1") { REQUIRE(kernel.write_sysctl(conf("all", "proxy_ndp"), "1").ok()); }
  CHECK(kernel.has_default_route(kEth0));
  CHECK(deleted_routes(drained(kernel)).empty());
}

TEST_CASE("fake kernel: an interface without its own accept_ra has default's") {
  FakeKernel kernel;
  kernel.add_link({.index = 7, .name = "eth7", .up = false});  // down: no sysctls of its own
  kernel.add_route("::/0", 7, "fe80::1");
  SECTION("default.accept_ra=2") {
    kernel.sysctls[conf("default", "accept_ra")] = "2";
    REQUIRE(kernel.write_sysctl(conf("all", "forwarding"), "1").ok());
    CHECK(kernel.has_default_route(7));
  }
  SECTION("default.accept_ra unset (1)") {
    REQUIRE(kernel.write_sysctl(conf("all", "forwarding"), "1").ok());
    CHECK_FALSE(kernel.has_default_route(7));
  }
}

TEST_CASE("fake kernel: queued failures hit the next calls of their kind, in order") {
  FakeKernel kernel;
  build_lab(kernel);
  kernel.fail_next(Call::kDump, EINTR);
  kernel.fail_next(Call::kAdd, EPERM);
  kernel.fail_next(Call::kAdd, ENOBUFS);
  const ProxyEntry entry{kEth0, ip("2001:db8:0:1::2:2"), kOwner};
  CHECK(kernel.dump().status.error == EINTR);
  CHECK(kernel.dump().ok());
  CHECK(kernel.add_proxy(entry).error == EPERM);
  CHECK(kernel.add_proxy(entry).error == ENOBUFS);
  CHECK_FALSE(kernel.has_proxy(kEth0, "2001:db8:0:1::2:2"));  // a failed add changes nothing
  CHECK(kernel.add_proxy(entry).ok());
  CHECK(kernel.add_calls == 3);

  kernel.fail_next(Call::kDumpProxies, EBUSY, 2);
  CHECK(kernel.dump_proxies().status.error == EBUSY);
  CHECK(kernel.dump_proxies().status.error == EBUSY);
  CHECK(kernel.dump_proxies().value.size() == 1);

  kernel.fail_next(Call::kDelete, EPERM);
  CHECK(kernel.delete_proxy(entry).error == EPERM);
  CHECK(kernel.has_proxy(kEth0, "2001:db8:0:1::2:2"));
  CHECK(kernel.delete_proxy(entry).ok());
  CHECK(kernel.delete_proxy(entry).ok());  // already gone is success

  kernel.fail_next(Call::kProbe, ENOBUFS);
  CHECK(kernel.probe_neighbour(kBr0, ip("2001:db8:0:1::2:2")).error == ENOBUFS);
  CHECK(kernel.probe_neighbour(kBr0, ip("2001:db8:0:1::2:2")).ok());
  CHECK(kernel.probes.size() == 2);  // a failed probe was still asked for
}

TEST_CASE("fake kernel: failures per address and per sysctl last until cleared") {
  FakeKernel kernel;
  build_lab(kernel);
  kernel.fail_address(Call::kAdd, "2001:db8:0:1::2:2", EACCES);
  CHECK(kernel.add_proxy({kEth0, ip("2001:db8:0:1::2:2"), kOwner}).error == EACCES);
  CHECK(kernel.add_proxy({kEth0, ip("2001:db8:0:1::2:2"), kOwner}).error == EACCES);
  CHECK(kernel.add_proxy({kEth0, ip("2001:db8:0:1::2:3"), kOwner}).ok());
  kernel.fail_address(Call::kAdd, "2001:db8:0:1::2:2", 0);
  CHECK(kernel.add_proxy({kEth0, ip("2001:db8:0:1::2:2"), kOwner}).ok());

  const auto forwarding = conf("all", "forwarding");
  kernel.fail_sysctl(Call::kWriteSysctl, forwarding, EROFS);
  CHECK(kernel.write_sysctl(forwarding, "1").error == EROFS);
  CHECK(kernel.sysctls[forwarding] == "0");  // unchanged
  CHECK(kernel.has_default_route(kEth0));    // and no purge
  CHECK(kernel.sysctl_writes.empty());       // only writes that happened are listed
  CHECK(kernel.write_sysctl(conf("all", "proxy_ndp"), "1").ok());

  kernel.fail_sysctl(Call::kReadSysctl, forwarding, EACCES);
  CHECK(kernel.read_sysctl(forwarding).status.error == EACCES);
  CHECK(kernel.read_sysctl(conf("all", "proxy_ndp")).value == "1");

  kernel.clear_faults();
  CHECK(kernel.read_sysctl(forwarding).ok());
  CHECK(kernel.write_sysctl(forwarding, "1").ok());
}

TEST_CASE("fake kernel: the old fail_add set still fails with EPERM") {
  FakeKernel kernel;
  build_lab(kernel);
  kernel.fail_add.insert(ip("2001:db8:0:1::2:2"));
  CHECK(kernel.add_proxy({kEth0, ip("2001:db8:0:1::2:2"), kOwner}).error == EPERM);
}
