#include "catch2_compat.hpp"

#include <fstream>
#include <iterator>
#include <vector>

#include "fake_kernel.hpp"
#include "ndpsync/ndp_wire.hpp"
#include "ndpsync/ns_parse.hpp"

using namespace ndpsync;
using namespace ndpsync::testing;

namespace {

// Fills in the ICMPv6 checksum over the payload length the header declares (or what is there).
void seal(std::vector<std::uint8_t>& p) {
  if (p.size() < 44) return;
  const std::size_t declared = (std::size_t{p[4]} << 8) | p[5];
  const auto length = std::min(declared, p.size() - 40);
  p[42] = 0;
  p[43] = 0;
  Ipv6Address::Bytes source{};
  Ipv6Address::Bytes destination{};
  std::copy(p.begin() + 8, p.begin() + 24, source.begin());
  std::copy(p.begin() + 24, p.begin() + 40, destination.begin());
  const auto sum = icmpv6_checksum(Ipv6Address(source), Ipv6Address(destination),
                                   std::span(p).subspan(40, length));
  p[42] = static_cast<std::uint8_t>(sum >> 8);
  p[43] = static_cast<std::uint8_t>(sum & 0xff);
}

// A DAD probe as the kernel hands it to a SOCK_DGRAM packet socket: IPv6 header, then the NS,
// to the target's solicited-node group, checksum filled in. `options` bytes of options follow:
// unknown ones (type 250) of eight bytes each, which a parser skips.
std::vector<std::uint8_t> dad_probe(std::string_view target, std::size_t options = 0) {
  std::vector<std::uint8_t> p(40 + 24 + options, 0);
  p[0] = 0x60;
  const auto payload = 24 + options;
  p[4] = static_cast<std::uint8_t>(payload >> 8);
  p[5] = static_cast<std::uint8_t>(payload & 0xff);
  p[6] = 58;   // ICMPv6
  p[7] = 255;  // hop limit
  // source :: (bytes 8..23 stay zero); destination ff02::1:ffXX:XXXX
  const auto bytes = ip(target).bytes();
  const std::array<std::uint8_t, 16> group = {0xff, 2, 0, 0, 0,    0,         0,         0,
                                              0,    0, 0, 1, 0xff, bytes[13], bytes[14], bytes[15]};
  std::copy(group.begin(), group.end(), p.begin() + 24);
  p[40] = 135;
  std::copy(bytes.begin(), bytes.end(), p.begin() + 48);
  for (std::size_t at = 64; at + 8 <= p.size(); at += 8) {
    p[at] = 250;
    p[at + 1] = 1;
  }
  seal(p);
  return p;
}

// The same NS from a unicast solicitor, with a source link-layer address option.
std::vector<std::uint8_t> resolution(std::string_view target) {
  auto p = dad_probe(target, 8);
  const auto router = ip("fe80::1").bytes();
  std::copy(router.begin(), router.end(), p.begin() + 8);
  p[64] = 1;  // source link-layer address
  seal(p);
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
    seal(p);  // refused for the change, not for the checksum
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
  // 64 KiB of payload, declared and present, checksum and options valid.
  auto big = dad_probe("2001:db8:0:1::2:30", 65528 - 24);
  CHECK(parse(big) == ip("2001:db8:0:1::2:30"));
  // Declared larger than what arrived: refused.
  big.resize(1000);
  CHECK_FALSE(parse(big).has_value());
}

TEST_CASE("solicitation parse: address resolution gives source and target; DAD probes do not") {
  auto p = dad_probe("2001:db8:0:1::2:40", 8);
  CHECK_FALSE(parse_solicitation(std::span(p.data(), p.size())).has_value());  // from ::
  p = resolution("2001:db8:0:1::2:40");
  const auto ns = parse_solicitation(std::span(p.data(), p.size()));
  REQUIRE(ns.has_value());
  CHECK(ns->source == ip("fe80::1"));
  CHECK(ns->target == ip("2001:db8:0:1::2:40"));
  CHECK_FALSE(parse(p).has_value());  // and it is no DAD probe
  p[8] = 0xff;                        // a multicast source is no solicitor
  seal(p);
  CHECK_FALSE(parse_solicitation(std::span(p.data(), p.size())).has_value());
  auto truncated = resolution("2001:db8:0:1::2:40");
  truncated.resize(60);
  CHECK_FALSE(parse_solicitation(std::span(truncated.data(), truncated.size())).has_value());
  // To a unicast destination (a router's reachability probe): valid.
  auto unicast = resolution("2001:db8:0:1::2:40");
  const auto target = ip("2001:db8:0:1::2:40").bytes();
  std::copy(target.begin(), target.end(), unicast.begin() + 24);
  seal(unicast);
  CHECK(parse_solicitation(std::span(unicast.data(), unicast.size())).has_value());
}

// RFC 4861 7.1.1, as the kernel's ndisc_recv_ns applies it: what it drops, we ignore.
TEST_CASE("ns parse: RFC 4861 7.1.1 validity") {
  const auto solicitation = [](const std::vector<std::uint8_t>& p) {
    return parse_solicitation(std::span(p.data(), p.size())).has_value();
  };
  SECTION("the checksum") {
    auto p = dad_probe("2001:db8:0:1::2:30");
    p[43] ^= 1;
    CHECK_FALSE(parse(p).has_value());
    auto r = resolution("2001:db8:0:1::2:30");
    r[42] ^= 0x80;
    CHECK_FALSE(solicitation(r));
    auto link_padding = resolution("2001:db8:0:1::2:30");
    link_padding.push_back(0xaa);  // after the payload: not summed
    CHECK(solicitation(link_padding));
  }
  SECTION("code 0 and hop limit 255") {
    auto r = resolution("2001:db8:0:1::2:30");
    r[41] = 1;
    seal(r);
    CHECK_FALSE(solicitation(r));
    r = resolution("2001:db8:0:1::2:30");
    r[7] = 64;
    seal(r);
    CHECK_FALSE(solicitation(r));
  }
  SECTION("options: none of length zero, none beyond the message") {
    auto p = dad_probe("2001:db8:0:1::2:30", 16);
    p[73] = 0;  // the second option's length
    seal(p);
    CHECK_FALSE(parse(p).has_value());
    auto r = resolution("2001:db8:0:1::2:30");
    r[65] = 0;
    seal(r);
    CHECK_FALSE(solicitation(r));
    r = resolution("2001:db8:0:1::2:30");
    r[65] = 2;  // sixteen bytes where eight are
    seal(r);
    CHECK_FALSE(solicitation(r));
    auto odd = resolution("2001:db8:0:1::2:30");  // one byte left over: no option header fits
    odd.push_back(0);
    odd[5] = static_cast<std::uint8_t>(odd[5] + 1);
    seal(odd);
    CHECK_FALSE(solicitation(odd));
  }
  SECTION("a DAD probe carries no source link-layer address") {
    auto p = dad_probe("2001:db8:0:1::2:30", 8);
    CHECK(parse(p).has_value());  // a nonce-like option is fine
    p[64] = 1;
    seal(p);
    CHECK_FALSE(parse(p).has_value());
  }
  SECTION("a DAD probe goes to the target's solicited-node group") {
    auto p = dad_probe("2001:db8:0:1::2:30");
    p[39] ^= 1;  // another address's group
    seal(p);
    CHECK_FALSE(parse(p).has_value());
    p = dad_probe("2001:db8:0:1::2:30");
    const auto all_nodes = ip("ff02::1").bytes();
    std::copy(all_nodes.begin(), all_nodes.end(), p.begin() + 24);
    seal(p);
    CHECK_FALSE(parse(p).has_value());
    p = dad_probe("2001:db8:0:1::2:30");
    const auto unicast = ip("2001:db8:0:1::2:30").bytes();
    std::copy(unicast.begin(), unicast.end(), p.begin() + 24);
    seal(p);
    CHECK_FALSE(parse(p).has_value());
  }
}

// The fuzz corpus doubles as a table of real packets: the valid ones parse, the forged ones
// (test/lab/ns_forge.py's kinds) do not.
TEST_CASE("ns parse: the fuzz corpus") {
  const auto read = [](const char* name) {
    std::ifstream in(std::string(NDPSYNC_SOURCE_DIR) + "/test/fuzz/corpus/ns/" + name,
                     std::ios::binary);
    REQUIRE(in.good());
    return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in), {});
  };
  const auto solicitation = [](const std::vector<std::uint8_t>& p) {
    return parse_solicitation(std::span(p.data(), p.size())).has_value();
  };
  CHECK(parse(read("probe.bin")).has_value());
  CHECK(parse(read("probe_nonce.bin")).has_value());
  CHECK(solicitation(read("router-multicast-ns")));
  CHECK(solicitation(read("router-unicast-ns")));
  for (const char* forged : {"bad-checksum", "code1", "zero-option"}) {
    INFO(forged);
    CHECK_FALSE(solicitation(read(forged)));
  }
  for (const char* forged : {"dad-slla", "dad-wrong-dst"}) {
    INFO(forged);
    CHECK_FALSE(parse(read(forged)).has_value());
  }
}
