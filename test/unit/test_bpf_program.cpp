// The listeners' classic BPF programs, run by the real kernel without root: attached to one end
// of an AF_UNIX datagram socketpair, a program sees each datagram as it would an IPv6 packet on a
// SOCK_DGRAM packet socket (offset 0 is the IPv6 header) and drops what it returns 0 for. The
// interface check (SKF_AD_IFINDEX) has no meaning there; the lab test covers it.
#include <sys/socket.h>
#include <unistd.h>

#include <random>
#include "catch2_compat.hpp"

#include "fake_kernel.hpp"
#include "ndpsync/bpf_program.hpp"
#include "ndpsync/ndp_wire.hpp"
#include "ndpsync/ns_parse.hpp"

using namespace ndpsync;
using namespace ndpsync::testing;

namespace {

// An NS as a packet socket hands it over: IPv6 header, then the NS, with a valid checksum.
std::vector<std::uint8_t> ns(std::string_view source, std::string_view target) {
  std::vector<std::uint8_t> p(40 + 24, 0);
  p[0] = 0x60;
  p[5] = 24;
  p[6] = 58;
  p[7] = 255;
  const auto s = ip(source).bytes();
  std::copy(s.begin(), s.end(), p.begin() + 8);
  const auto t = ip(target).bytes();
  const Ipv6Address::Bytes group = {0xff, 2, 0, 0, 0,    0,     0,     0,
                                    0,    0, 0, 1, 0xff, t[13], t[14], t[15]};
  std::copy(group.begin(), group.end(), p.begin() + 24);
  p[40] = 135;
  std::copy(t.begin(), t.end(), p.begin() + 48);
  const auto sum = icmpv6_checksum(ip(source), Ipv6Address(group), std::span(p).subspan(40));
  p[42] = static_cast<std::uint8_t>(sum >> 8);
  p[43] = static_cast<std::uint8_t>(sum & 0xff);
  return p;
}

class FilteredPair {
 public:
  explicit FilteredPair(const std::vector<sock_filter>& code) {
    REQUIRE(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, fds_.data()) == 0);
    const sock_fprog program{.len = static_cast<unsigned short>(code.size()),
                             .filter = const_cast<sock_filter*>(code.data())};
    REQUIRE(::setsockopt(fds_[1], SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof(program)) == 0);
  }
  ~FilteredPair() {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  FilteredPair(const FilteredPair&) = delete;
  FilteredPair& operator=(const FilteredPair&) = delete;

  // True when the packet got through the filter.
  bool passes(const std::vector<std::uint8_t>& packet) {
    REQUIRE(::send(fds_[0], packet.data(), packet.size(), 0) ==
            static_cast<ssize_t>(packet.size()));
    std::array<std::uint8_t, 512> buffer{};
    return ::recv(fds_[1], buffer.data(), buffer.size(), MSG_DONTWAIT) > 0;
  }

 private:
  std::array<int, 2> fds_{};
};

std::string nth(std::uint32_t n) {  // distinct targets, some sharing their last word
  return "2001:db8:0:" + std::to_string(1 + n % 7) + "::" + std::to_string(n / 7 % 9000 + 1);
}

}  // namespace

TEST_CASE("bpf: the DAD listener passes DAD probes only") {
  FilteredPair pair(build_ns_filter(NsListener::kDad, {}).code);
  CHECK(pair.passes(ns("::", "2001:db8:0:1::2:30")));
  CHECK_FALSE(pair.passes(ns("fe80::1", "2001:db8:0:1::2:30")));
  auto forwarded = ns("::", "2001:db8:0:1::2:30");
  forwarded[7] = 254;
  CHECK_FALSE(pair.passes(forwarded));
  auto code1 = ns("::", "2001:db8:0:1::2:30");
  code1[41] = 1;
  CHECK_FALSE(pair.passes(code1));
  auto advert = ns("::", "2001:db8:0:1::2:30");
  advert[40] = 136;
  CHECK_FALSE(pair.passes(advert));
  auto udp = ns("::", "2001:db8:0:1::2:30");
  udp[6] = 17;
  CHECK_FALSE(pair.passes(udp));
}

TEST_CASE("bpf: the solicitation listener drops what the kernel answers, all 128 bits compared") {
  PacketFilter filter;
  for (std::uint32_t n = 0; n < 200; ++n) filter.answered.push_back(ip(nth(n)));
  std::sort(filter.answered.begin(), filter.answered.end());
  const auto program = build_ns_filter(NsListener::kSolicitation, filter);
  REQUIRE(program.targets_filtered);
  REQUIRE(program.code.size() <= BPF_MAXINSNS);
  FilteredPair pair(program.code);
  for (std::uint32_t n = 0; n < 200; ++n) {
    INFO(nth(n));
    CHECK_FALSE(pair.passes(ns("fe80::1", nth(n))));
  }
  // The same last word under another prefix, and neighbours of answered ones, pass.
  for (const char* other : {"2001:db8:0:8::1", "2001:db8:0:1::9001", "2001:db8:1:1::1",
                            "2001:db8:0:1:1::1", "2001:db9:0:1::1", "2001:db8:0:1::2:30"}) {
    INFO(other);
    CHECK(pair.passes(ns("fe80::1", other)));
  }
  CHECK_FALSE(pair.passes(ns("::", "2001:db8:0:1::2:30")));  // DAD probes are the other's
}

TEST_CASE("bpf: random target sets, checked against a set lookup") {
  std::mt19937 random(4861);
  for (int round = 0; round < 20; ++round) {
    std::set<Ipv6Address> answered;
    const auto count = std::uniform_int_distribution<int>(1, 300)(random);
    // A small space, so that probes hit and miss and share words often.
    const auto pick = [&] {
      return "2001:db8:0:" + std::to_string(random() % 3) + "::" + std::to_string(random() % 500);
    };
    while (static_cast<int>(answered.size()) < count) {
      const auto target = ip(pick());
      if (!target.is_unspecified()) answered.insert(target);
    }
    const PacketFilter filter{.answered = {answered.begin(), answered.end()}};
    const auto program = build_ns_filter(NsListener::kSolicitation, filter);
    REQUIRE(program.targets_filtered);
    FilteredPair pair(program.code);
    for (int probe = 0; probe < 200; ++probe) {
      const auto target = pick();
      if (ip(target).is_unspecified()) continue;
      INFO(target);
      CHECK(pair.passes(ns("fe80::1", target)) == !answered.contains(ip(target)));
    }
  }
}

TEST_CASE("bpf: too many targets for one program: none filtered, all pass, and it says so") {
  PacketFilter filter;
  for (std::uint32_t n = 0; n < 2000; ++n) filter.answered.push_back(ip(nth(n)));
  std::sort(filter.answered.begin(), filter.answered.end());
  const auto program = build_ns_filter(NsListener::kSolicitation, filter);
  CHECK_FALSE(program.targets_filtered);
  CHECK(program.code.size() <= BPF_MAXINSNS);
  FilteredPair pair(program.code);
  CHECK(pair.passes(ns("fe80::1", nth(5))));
}

TEST_CASE(
    "bpf: a ceiling below the program's length (the socket's option memory) drops the targets") {
  PacketFilter filter;
  for (std::uint32_t n = 0; n < 10; ++n) filter.answered.push_back(ip(nth(n)));
  std::sort(filter.answered.begin(), filter.answered.end());
  const auto full = build_ns_filter(NsListener::kSolicitation, filter);
  REQUIRE(full.targets_filtered);
  CHECK(build_ns_filter(NsListener::kSolicitation, filter, full.code.size()).targets_filtered);
  const auto capped = build_ns_filter(NsListener::kSolicitation, filter, full.code.size() - 1);
  CHECK_FALSE(capped.targets_filtered);
  CHECK(capped.code.size() < full.code.size());
  FilteredPair pair(capped.code);
  CHECK(pair.passes(ns("fe80::1", nth(3))));
  // Without targets the ceiling does not matter: the program is the same.
  CHECK(build_ns_filter(NsListener::kSolicitation, {}, 0).code.size() ==
        build_ns_filter(NsListener::kSolicitation, {}).code.size());
}

TEST_CASE("bpf: no interface to listen on, and a paused socket, drop everything") {
  FilteredPair none(
      build_ns_filter(NsListener::kSolicitation, {.interfaces = std::vector<IfIndex>()}).code);
  CHECK_FALSE(none.passes(ns("fe80::1", "2001:db8:0:1::2:30")));
  FilteredPair paused(drop_all_filter());
  CHECK_FALSE(paused.passes(ns("fe80::1", "2001:db8:0:1::2:30")));
  // The interface check is in the program (it reads SKF_AD_IFINDEX: 0 on AF_UNIX, so dropped).
  FilteredPair one(build_ns_filter(NsListener::kSolicitation, {.interfaces = {{7}}}).code);
  CHECK_FALSE(one.passes(ns("fe80::1", "2001:db8:0:1::2:30")));
}

TEST_CASE("bpf: the size limit is met exactly: the largest list that fits is filtered") {
  PacketFilter filter;
  std::size_t fits = 0;
  for (std::uint32_t n = 0; n < 700; ++n) {
    filter.answered.push_back(ip(nth(n)));
    std::sort(filter.answered.begin(), filter.answered.end());
    const auto program = build_ns_filter(NsListener::kSolicitation, filter);
    REQUIRE(program.code.size() <= BPF_MAXINSNS);
    if (!program.targets_filtered) break;
    fits = filter.answered.size();
  }
  INFO(fits);
  CHECK(fits >= 300);
  CHECK(fits < 700);
  // One more than fits: none filtered.
  CHECK_FALSE(build_ns_filter(NsListener::kSolicitation, filter).targets_filtered);
}
