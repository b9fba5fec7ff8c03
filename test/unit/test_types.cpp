#include "catch2_compat.hpp"

#include "ndpsync/types.hpp"

using ndpsync::Ipv6Address;
using ndpsync::LinkAddress;
using ndpsync::Prefix;

TEST_CASE("addresses parse only in textual IPv6 form") {
  struct Case {
    const char* text;
    bool valid;
    const char* canonical;
  };
  const Case cases[] = {
      {.text = "2001:db8::1", .valid = true, .canonical = "2001:db8::1"},
      {.text = "2001:0DB8:0000::0001", .valid = true, .canonical = "2001:db8::1"},
      {.text = "::", .valid = true, .canonical = "::"},
      {.text = "::ffff:192.0.2.1", .valid = true, .canonical = "::ffff:192.0.2.1"},
      {.text = "", .valid = false, .canonical = ""},
      {.text = "192.0.2.1", .valid = false, .canonical = ""},
      {.text = "2001:db8::1/64", .valid = false, .canonical = ""},
      {.text = "fe80::1%eth0", .valid = false, .canonical = ""},
      {.text = "2001:db8:::1", .valid = false, .canonical = ""},
      {.text = "[2001:db8::1]", .valid = false, .canonical = ""},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    const auto parsed = Ipv6Address::parse(c.text);
    REQUIRE(parsed.has_value() == c.valid);
    if (c.valid) CHECK(parsed->to_string() == c.canonical);
  }
}

TEST_CASE("address classes") {
  CHECK(Ipv6Address::parse("fe80::1")->is_link_local());
  CHECK(Ipv6Address::parse("febf::1")->is_link_local());
  CHECK_FALSE(Ipv6Address::parse("fec0::1")->is_link_local());
  CHECK(Ipv6Address::parse("ff02::1:ff00:1")->is_multicast());
  CHECK(Ipv6Address::parse("::1")->is_loopback());
  CHECK(Ipv6Address::parse("::")->is_unspecified());
  CHECK_FALSE(Ipv6Address::parse("2001:db8::")->is_unspecified());
}

TEST_CASE("prefixes parse, normalise and contain") {
  const auto p = Prefix::parse("2001:db8:0:1::1:5/112");
  REQUIRE(p);
  CHECK(p->to_string() == "2001:db8:0:1::1:0/112");
  CHECK(p->contains(*Ipv6Address::parse("2001:db8:0:1::1:ffff")));
  CHECK_FALSE(p->contains(*Ipv6Address::parse("2001:db8:0:1::2:1")));
  CHECK(Prefix::parse("2001:db8::/61")->contains(*Ipv6Address::parse("2001:db8:0:7::1")));
  CHECK_FALSE(Prefix::parse("2001:db8::/61")->contains(*Ipv6Address::parse("2001:db8:0:8::1")));
  CHECK(Prefix::parse("::/0")->contains(*Ipv6Address::parse("2001:db8::1")));
  CHECK(Prefix::parse("2001:db8::/64")->contains(*Prefix::parse("2001:db8::1:0/112")));
  CHECK_FALSE(Prefix::parse("2001:db8::1:0/112")->contains(*Prefix::parse("2001:db8::/64")));
  for (const char* bad : {"2001:db8::", "2001:db8::/129", "2001:db8::/", "2001:db8::/6x", "/64",
                          "2001:db8::/-1", "2001:db8::/ 64", "10.0.0.0/8"}) {
    INFO(bad);
    CHECK_FALSE(Prefix::parse(bad));
  }
}

TEST_CASE("LinkAddress: parse, print and compare") {
  const auto a = LinkAddress::parse("02:00:5E:10:00:0a");
  REQUIRE(a);
  CHECK(a->size() == 6);
  CHECK(a->to_string() == "02:00:5e:10:00:0a");
  CHECK(LinkAddress::parse("")->empty());
  const std::uint8_t ipoib[20] = {0x80, 0, 0, 0x48, 0xfe, 0x80, 0, 0, 0, 0,
                                  0,    0, 0, 2,    0xc9, 3,    0, 1, 2, 3};
  const LinkAddress long_one(ipoib, sizeof ipoib);
  CHECK(LinkAddress::parse(long_one.to_string()) == long_one);
  CHECK(LinkAddress(ipoib, 6) != *LinkAddress::parse("80:00:00:48:fe:81"));
  CHECK(LinkAddress(ipoib, 6) == *LinkAddress::parse("80:00:00:48:fe:80"));
  // A shorter address is not a prefix of a longer one's value.
  CHECK(LinkAddress(ipoib, 5) != LinkAddress(ipoib, 6));
  for (const char* bad : {"0", "02:", ":02", "02:00:", "0g:00", "02-00", "020:00", "02::00",
                          "00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:"
                          "00:00:00:00:00:00:00:00:00:00"}) {
    INFO(bad);
    CHECK_FALSE(LinkAddress::parse(bad));
  }
}

TEST_CASE("an interface without a name is called if and its index, everywhere") {
  CHECK(ndpsync::unnamed_interface(7) == "if7");
  const ndpsync::Link eth0{.index = 2, .name = "eth0"};
  CHECK(ndpsync::interface_name(&eth0, 2) == "eth0");
  CHECK(ndpsync::interface_name(nullptr, 7) == "if7");
}
