// The advert socket's packets, read back field by field as a router would.
#include "catch2_compat.hpp"

#include "fake_kernel.hpp"
#include "ndpsync/na_builder.hpp"

using namespace ndpsync;
using namespace ndpsync::testing;

namespace {

Ipv6Address address_at(std::span<const std::uint8_t> bytes) {
  Ipv6Address::Bytes a{};
  std::copy_n(bytes.begin(), a.size(), a.begin());
  return Ipv6Address(a);
}

Advert unsolicited() {
  return {.ifindex = 2,
          .source = ip("fe80::1"),
          .destination = ip("ff02::1"),
          .target = ip("2001:db8:0:1::2:2"),
          .lladdr = *LinkAddress::parse("02:00:5e:00:53:01"),
          .router = true,
          .override = true};
}

}  // namespace

TEST_CASE("na builder: an NA with a target link-layer address, behind its IPv6 header") {
  const auto na = build_na(unsolicited());
  const auto p = na.packet();
  REQUIRE(p.size() == 40 + 24 + 8);
  CHECK(p[0] >> 4 == 6);
  CHECK(((p[4] << 8) | p[5]) == 24 + 8);  // payload length
  CHECK(p[6] == 58);                      // ICMPv6
  CHECK(p[7] == 255);                     // hop limit
  CHECK(address_at(p.subspan(8)) == ip("fe80::1"));
  CHECK(address_at(p.subspan(24)) == ip("ff02::1"));
  const auto icmp = p.subspan(40);
  CHECK(icmp[0] == 136);
  CHECK(icmp[1] == 0);
  CHECK(icmp[4] == 0xa0);  // R and O, not S
  CHECK(address_at(icmp.subspan(8)) == ip("2001:db8:0:1::2:2"));
  CHECK(icmp[24] == 2);  // target link-layer address, one unit of eight bytes
  CHECK(icmp[25] == 1);
  CHECK(LinkAddress(icmp.data() + 26, 6) == *LinkAddress::parse("02:00:5e:00:53:01"));
  CHECK(icmpv6_checksum(ip("fe80::1"), ip("ff02::1"), icmp) == 0);
}

TEST_CASE("na builder: flags, no option, and a long link-layer address padded to eight bytes") {
  auto advert = unsolicited();
  advert.router = false;
  advert.solicited = true;
  advert.override = false;
  advert.destination = ip("fe80::99");
  advert.lladdr = LinkAddress();
  const auto bare = build_na(advert);
  REQUIRE(bare.packet().size() == 40 + 24);
  CHECK(bare.packet()[40 + 4] == 0x40);  // S only
  CHECK(icmpv6_checksum(advert.source, advert.destination, bare.packet().subspan(40)) == 0);

  const std::uint8_t ipoib[20] = {0x80, 0, 0, 0x48, 0xfe, 0x80, 0, 0, 0, 0,
                                  0,    0, 0, 2,    0xc9, 3,    0, 1, 2, 3};
  advert.lladdr = LinkAddress(ipoib, sizeof ipoib);
  const auto long_one = build_na(advert);
  REQUIRE(long_one.packet().size() == 40 + 24 + 24);  // 2 + 20 bytes in three units
  CHECK(long_one.packet()[40 + 25] == 3);
  CHECK(icmpv6_checksum(advert.source, advert.destination, long_one.packet().subspan(40)) == 0);
}
