#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netconf.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include <cstring>
#include <memory>
#include "catch2_compat.hpp"

#include "fake_kernel.hpp"
#include "ndpsync/netlink.hpp"

using namespace ndpsync;
using ndpsync::testing::ip;

namespace {

struct Msg {
  std::unique_ptr<nl_msg, decltype(&nlmsg_free)> msg;
  template <typename Header>
  Msg(int type, const Header& header) : msg(nlmsg_alloc_simple(type, 0), &nlmsg_free) {
    nlmsg_append(msg.get(), const_cast<Header*>(&header), sizeof(header), NLMSG_ALIGNTO);
  }
  Msg& put(int attr, const void* data, int length) {
    nla_put(msg.get(), attr, length, data);
    return *this;
  }
  Msg& put_ip(int attr, std::string_view text) { return put(attr, ip(text).bytes().data(), 16); }
  [[nodiscard]] const nlmsghdr* header() const { return nlmsg_hdr(msg.get()); }
};

ndmsg neigh_header(std::uint8_t family, int ifindex, std::uint16_t state, std::uint8_t flags) {
  ndmsg h{};
  h.ndm_family = family;
  h.ndm_ifindex = ifindex;
  h.ndm_state = state;
  h.ndm_flags = flags;
  return h;
}

}  // namespace

TEST_CASE("a neighbour message becomes a NeighbourEvent") {
  const std::uint8_t mac[6] = {2, 0, 0, 0, 0, 0x42};
  Msg m(RTM_NEWNEIGH, neigh_header(AF_INET6, 4, NUD_STALE, NTF_ROUTER));
  m.put_ip(NDA_DST, "2001:db8::42").put(NDA_LLADDR, mac, 6);
  const auto parsed = parse_message(m.header());
  REQUIRE(parsed.error.empty());
  const auto* event = std::get_if<NeighbourEvent>(&*parsed.event);
  REQUIRE(event);
  CHECK(event->change == Change::kNew);
  CHECK(event->neighbour.ifindex == 4);
  CHECK(event->neighbour.address == ip("2001:db8::42"));
  CHECK(event->neighbour.state == kNudStale);
  CHECK(event->neighbour.router);
  CHECK(event->neighbour.lladdr.to_string() == "02:00:00:00:00:42");
}

TEST_CASE("a proxy message becomes a ProxyEvent with its owner tag") {
  const std::uint8_t proto = 176;
  Msg m(RTM_NEWNEIGH, neigh_header(AF_INET6, 2, NUD_NONE, NTF_PROXY));
  m.put_ip(NDA_DST, "2001:db8::1:2").put(NDA_PROTOCOL, &proto, 1);
  const auto parsed = parse_message(m.header());
  const auto* event = std::get_if<ProxyEvent>(&*parsed.event);
  REQUIRE(event);
  CHECK(event->entry == ProxyEntry{2, ip("2001:db8::1:2"), 176});
}

TEST_CASE("bridge FDB and link messages of other families are ignored") {
  Msg fdb(RTM_NEWNEIGH, neigh_header(AF_BRIDGE, 4, NUD_REACHABLE, 0));
  const auto parsed = parse_message(fdb.header());
  CHECK_FALSE(parsed.event);
  CHECK(parsed.error.empty());
  ifinfomsg port{};
  port.ifi_family = AF_BRIDGE;
  port.ifi_index = 5;
  Msg link(RTM_DELLINK, port);
  link.put(IFLA_IFNAME, "vb2", 4);
  CHECK_FALSE(parse_message(link.header()).event);
}

TEST_CASE("a link message carries kind, master and flags") {
  ifinfomsg info{};
  info.ifi_family = AF_UNSPEC;
  info.ifi_index = 7;
  info.ifi_flags = IFF_UP | IFF_LOWER_UP;
  Msg m(RTM_NEWLINK, info);
  const std::uint32_t master = 4;
  m.put(IFLA_IFNAME, "vb7", 4).put(IFLA_MASTER, &master, 4);
  auto* nest = nla_nest_start(m.msg.get(), IFLA_LINKINFO);
  nla_put_string(m.msg.get(), IFLA_INFO_KIND, "veth");
  nla_nest_end(m.msg.get(), nest);
  const auto parsed = parse_message(m.header());
  const auto* event = std::get_if<LinkEvent>(&*parsed.event);
  REQUIRE(event);
  CHECK(event->link.name == "vb7");
  CHECK(event->link.kind == "veth");
  CHECK(event->link.master == 4);
  CHECK(event->link.up);
  CHECK(event->link.carrier);
}

TEST_CASE("address and route messages") {
  ifaddrmsg a{};
  a.ifa_family = AF_INET6;
  a.ifa_prefixlen = 112;
  a.ifa_index = 3;
  Msg addr(RTM_NEWADDR, a);
  const std::uint32_t flags = IFA_F_TENTATIVE;
  addr.put_ip(IFA_ADDRESS, "2001:db8::1:1").put(IFA_FLAGS, &flags, 4);
  const auto parsed_address = parse_message(addr.header());
  const auto* address = std::get_if<AddressEvent>(&*parsed_address.event);
  REQUIRE(address);
  CHECK(address->address.prefix_length == 112);
  CHECK(address->address.flags == kAddrTentative);

  // The flags beyond the header's 8 bits (IFA_F_MANAGETEMPADDR) come from IFA_FLAGS; a hand-made
  // address is IFA_F_PERMANENT, a SLAAC one is not (find_slaac_uplink tells them apart).
  const std::uint32_t managed = IFA_F_PERMANENT | IFA_F_MANAGETEMPADDR;
  static_assert(kAddrPermanent == IFA_F_PERMANENT && kAddrManageTempAddr == IFA_F_MANAGETEMPADDR);
  Msg managed_addr(RTM_NEWADDR, a);
  managed_addr.put_ip(IFA_ADDRESS, "2001:db8::1:2").put(IFA_FLAGS, &managed, 4);
  const auto parsed_managed = parse_message(managed_addr.header());
  const auto* managed_address = std::get_if<AddressEvent>(&*parsed_managed.event);
  REQUIRE(managed_address);
  CHECK(managed_address->address.flags == (kAddrPermanent | kAddrManageTempAddr));

  rtmsg r{};
  r.rtm_family = AF_INET6;
  r.rtm_type = RTN_UNICAST;
  r.rtm_table = RT_TABLE_MAIN;
  r.rtm_protocol = RTPROT_RA;
  Msg route(RTM_NEWROUTE, r);
  const std::uint32_t oif = 2;
  route.put_ip(RTA_GATEWAY, "fe80::1").put(RTA_OIF, &oif, 4);
  const auto parsed_route = parse_message(route.header());
  const auto* parsed = std::get_if<RouteEvent>(&*parsed_route.event);
  REQUIRE(parsed);
  CHECK(parsed->route.is_default());
  CHECK(parsed->route.oif == 2);
  CHECK(parsed->route.gateway == ip("fe80::1"));
}

TEST_CASE("a netconf message names the interface whose forwarding or proxy_ndp changed") {
  const netconfmsg v6{.ncm_family = AF_INET6};
  const std::int32_t eth0 = 2;
  const std::int32_t all = NETCONFA_IFINDEX_ALL;
  const std::int32_t on = 1;
  Msg uplink(RTM_NEWNETCONF, v6);
  uplink.put(NETCONFA_IFINDEX, &eth0, 4).put(NETCONFA_PROXY_NEIGH, &on, 4);
  auto parsed = parse_message(uplink.header());
  REQUIRE(parsed.error.empty());
  const auto* event = std::get_if<NetconfEvent>(&*parsed.event);
  REQUIRE(event);
  CHECK(event->ifindex == 2);
  // all (-1) and default (-2) are 0: not an interface
  Msg everywhere(RTM_NEWNETCONF, v6);
  everywhere.put(NETCONFA_IFINDEX, &all, 4).put(NETCONFA_FORWARDING, &on, 4);
  parsed = parse_message(everywhere.header());
  REQUIRE(parsed.event);
  CHECK(std::get<NetconfEvent>(*parsed.event).ifindex == 0);
  // IPv4's are not ours
  Msg v4(RTM_NEWNETCONF, netconfmsg{.ncm_family = AF_INET});
  v4.put(NETCONFA_IFINDEX, &eth0, 4);
  parsed = parse_message(v4.header());
  CHECK_FALSE(parsed.event);
  CHECK(parsed.error.empty());
  // no interface, or a short one: refused with a reason
  Msg bare(RTM_NEWNETCONF, v6);
  parsed = parse_message(bare.header());
  CHECK_FALSE(parsed.event);
  CHECK_THAT(parsed.error, ndpsync::testing::HasSubstring("NETCONFA_IFINDEX"));
  const std::uint16_t short_index = 2;
  Msg truncated(RTM_NEWNETCONF, v6);
  truncated.put(NETCONFA_IFINDEX, &short_index, 2);
  parsed = parse_message(truncated.header());
  CHECK_FALSE(parsed.event);
  CHECK_THAT(parsed.error, ndpsync::testing::HasSubstring("RTM_NEWNETCONF"));
}

TEST_CASE("malformed messages are refused with a reason, never misread") {
  SECTION("an address attribute of the wrong size") {
    Msg m(RTM_NEWNEIGH, neigh_header(AF_INET6, 4, NUD_REACHABLE, 0));
    const std::uint8_t four[4] = {192, 0, 2, 1};
    m.put(NDA_DST, four, 4);
    const auto parsed = parse_message(m.header());
    CHECK_FALSE(parsed.event);
    CHECK_THAT(parsed.error, ndpsync::testing::HasSubstring("RTM_NEWNEIGH"));
  }
  SECTION("a neighbour without a destination") {
    Msg m(RTM_NEWNEIGH, neigh_header(AF_INET6, 4, NUD_REACHABLE, 0));
    CHECK(parse_message(m.header()).error == "RTM_NEWNEIGH: no NDA_DST");
  }
  SECTION("a header cut short") {
    Msg m(RTM_NEWNEIGH, neigh_header(AF_INET6, 4, NUD_REACHABLE, 0));
    auto* header = const_cast<nlmsghdr*>(m.header());
    header->nlmsg_len = NLMSG_HDRLEN + 4;
    CHECK_FALSE(parse_message(header).error.empty());
  }
  SECTION("an attribute running past the message") {
    Msg m(RTM_NEWNEIGH, neigh_header(AF_INET6, 4, NUD_REACHABLE, 0));
    m.put_ip(NDA_DST, "2001:db8::1");
    auto* header = const_cast<nlmsghdr*>(m.header());
    header->nlmsg_len -= 8;  // the attribute now claims bytes that are not there
    const auto parsed = parse_message(header);
    CHECK_FALSE(parsed.event);
  }
  SECTION("a link name that is not terminated") {
    ifinfomsg info{};
    Msg m(RTM_NEWLINK, info);
    m.put(IFLA_IFNAME, "abcd", 4);
    CHECK_FALSE(parse_message(m.header()).error.empty());
  }
  SECTION("a buffer that ends inside a message") {
    Msg m(RTM_NEWNEIGH, neigh_header(AF_INET6, 4, NUD_REACHABLE, 0));
    m.put_ip(NDA_DST, "2001:db8::1");
    const auto* bytes = reinterpret_cast<const std::byte*>(m.header());
    int visited = 0;
    const auto error = for_each_message(std::span(bytes, m.header()->nlmsg_len - 4),
                                        [&](const nlmsghdr*) { ++visited; });
    CHECK(visited == 0);
    CHECK_FALSE(error.empty());
  }
}
