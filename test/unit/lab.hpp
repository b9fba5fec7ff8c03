// The unit tests' standard host, on the fake kernel: the same shape as the integration lab.
#pragma once

#include "fake_kernel.hpp"

namespace ndpsync::testing {

constexpr IfIndex kLo = 1;
constexpr IfIndex kEth0 = 2;
constexpr IfIndex kVc1 = 3;
constexpr IfIndex kBr0 = 4;
constexpr IfIndex kVb2 = 5;
constexpr IfIndex kVb3 = 6;
constexpr std::uint8_t kOwner = 176;

// eth0 on 2001:db8:0:1::/64 with an RA default route (its global address from SLAAC, so not
// IFA_F_PERMANENT; addresses configured by hand are); vc1 carries ::1:0/112 to one container,
// br0 carries ::2:0/112 to two. The containers have talked, so their neighbours are known.
inline void build_lab(FakeKernel& k) {
  k.add_link({.index = kLo, .name = "lo", .up = true, .carrier = true, .loopback = true});
  k.add_link({.index = kEth0,
              .name = "eth0",
              .up = true,
              .carrier = true,
              .mac = mac("02:00:00:00:00:02")});
  k.add_link({.index = kVc1, .name = "vc1", .kind = "veth", .up = true, .carrier = true});
  k.add_link({.index = kBr0, .name = "br0", .kind = "bridge", .up = true, .carrier = true});
  k.add_link(
      {.index = kVb2, .name = "vb2", .kind = "veth", .master = kBr0, .up = true, .carrier = true});
  k.add_link(
      {.index = kVb3, .name = "vb3", .kind = "veth", .master = kBr0, .up = true, .carrier = true});
  k.add_address(kLo, "::1", 128, kAddrPermanent);
  k.add_address(kEth0, "2001:db8:0:1:0:ff:fe00:2", 64);
  k.add_address(kEth0, "fe80::ff:fe00:2", 64, kAddrPermanent);
  k.add_route("::/0", kEth0, "fe80::1");
  k.add_route("2001:db8:0:1::/64", kEth0, std::nullopt);
  k.set_neighbour(kEth0, "fe80::1", kNudReachable, /*router=*/true, "02:00:00:00:00:01");
  k.add_address(kVc1, "2001:db8:0:1::1:1", 112, kAddrPermanent);
  k.add_address(kVc1, "fe80::c1", 64, kAddrPermanent);
  k.set_neighbour(kVc1, "2001:db8:0:1::1:2", kNudReachable);
  k.set_neighbour(kVc1, "fe80::c2", kNudStale);
  k.add_address(kBr0, "2001:db8:0:1::2:1", 112, kAddrPermanent);
  k.set_neighbour(kBr0, "2001:db8:0:1::2:2", kNudStale);
  k.set_neighbour(kBr0, "2001:db8:0:1::2:3", kNudReachable);
  k.sysctls[{SysctlKey::Tree::kConf, "all", "proxy_ndp"}] = "0";
  k.sysctls[{SysctlKey::Tree::kConf, "all", "forwarding"}] = "0";
  k.drop_events();
}

}  // namespace ndpsync::testing
