#include <catch2/catch.hpp>

#include <vector>

#include "fake_kernel.hpp"
#include "ndpsync/dad_listener.hpp"

using namespace ndpsync;
using namespace ndpsync::testing;

namespace {

// A DAD probe as the kernel hands it to a SOCK_DGRAM packet socket: IPv6 header, then the NS.
std::vector<std::uint8_t> dad_probe(std::string_view target, std::size_t options = 0) {
  std::vector<std::uint8_t> p(40 + 24 + options, 0);
  p[0] = 0x60;
  const auto payload = 24 + options;
  p[4] = static_cast<std::uint8_t>(payload >> 8);
  p[5] = static_cast<std::uint8_t>(payload & 0xff);
  p[6] = 58;   // ICMPv6
  p[7] = 255;  // hop limit
  // source :: (bytes 8..23 stay zero); destination ff02::1:ffXX:XXXX
  p[24] = 0xff;
  p[25] = 0x02;
  p[40] = 135;
  const auto bytes = ip(target).bytes();
  std::copy(bytes.begin(), bytes.end(), p.begin() + 48);
  return p;
}

std::optional<Ipv6Address> parse(const std::vector<std::uint8_t>& p) {
  return parse_dad_probe(std::span(p.data(), p.size()));
}

}  // namespace

TEST_CASE("dad parse: a DAD probe gives its target, with or without a nonce option") {
  CHECK(parse(dad_probe("2001:db8:0:1::2:30")) == ip("2001:db8:0:1::2:30"));
  CHECK(parse(dad_probe("2001:db8:0:1::2:30", 8)) == ip("2001:db8:0:1::2:30"));
  auto padded = dad_probe("2001:db8:0:1::2:30");
  padded.resize(padded.size() + 6);  // link-layer padding after the payload
  CHECK(parse(padded) == ip("2001:db8:0:1::2:30"));
}

TEST_CASE("dad parse: everything else is refused") {
  const struct {
    const char* description;
    std::size_t offset;
    std::uint8_t value;
  } changed[] = {
      {"IPv4", 0, 0x45},
      {"next header: a hop-by-hop extension header", 6, 0},
      {"next header: UDP", 6, 17},
      {"hop limit below 255 (forwarded)", 7, 254},
      {"source not ::", 23, 1},
      {"source not :: (first byte)", 8, 0xfe},
      {"neighbour advertisement", 40, 136},
      {"router solicitation", 40, 133},
      {"code not 0", 41, 1},
      {"payload length shorter than an NS", 5, 23},
      {"payload length beyond the bytes", 5, 25},
      {"payload length beyond the bytes (high byte)", 4, 1},
  };
  for (const auto& c : changed) {
    INFO(c.description);
    auto p = dad_probe("2001:db8:0:1::2:30");
    p[c.offset] = c.value;
    CHECK_FALSE(parse(p).has_value());
  }
  for (const char* target : {"fe80::1", "ff02::1", "::", "::1"}) {
    INFO(target);
    CHECK_FALSE(parse(dad_probe(target)).has_value());
  }
}

TEST_CASE("dad parse: truncated, empty and oversized frames") {
  const auto whole = dad_probe("2001:db8:0:1::2:30");
  for (std::size_t n = 0; n < whole.size(); ++n) {
    INFO(n);
    const std::vector<std::uint8_t> cut(whole.begin(), whole.begin() + static_cast<long>(n));
    CHECK_FALSE(parse(cut).has_value());
  }
  // 64 KiB of payload, declared and present: a parse reads only what it needs.
  auto big = dad_probe("2001:db8:0:1::2:30", 65535 - 24);
  CHECK(parse(big) == ip("2001:db8:0:1::2:30"));
  // Declared larger than what arrived: refused.
  big.resize(1000);
  CHECK_FALSE(parse(big).has_value());
}

TEST_CASE("solicitation parse: address resolution gives source and target; DAD probes do not") {
  auto p = dad_probe("2001:db8:0:1::2:40", 8);  // with a source link-layer address option
  CHECK_FALSE(parse_solicitation(std::span(p.data(), p.size())).has_value());  // from ::
  const auto router = ip("fe80::1").bytes();
  std::copy(router.begin(), router.end(), p.begin() + 8);
  const auto ns = parse_solicitation(std::span(p.data(), p.size()));
  REQUIRE(ns.has_value());
  CHECK(ns->source == ip("fe80::1"));
  CHECK(ns->target == ip("2001:db8:0:1::2:40"));
  CHECK_FALSE(parse(p).has_value());  // and it is no DAD probe
  p[8] = 0xff;                        // a multicast source is no solicitor
  CHECK_FALSE(parse_solicitation(std::span(p.data(), p.size())).has_value());
  auto truncated = dad_probe("2001:db8:0:1::2:40");
  std::copy(router.begin(), router.end(), truncated.begin() + 8);
  truncated.resize(60);
  CHECK_FALSE(parse_solicitation(std::span(truncated.data(), truncated.size())).has_value());
}
