// Netlink messages -> core value types. Everything here must survive any byte sequence: the
// fuzz target in test/fuzz feeds it garbage. libnl validates attribute lengths against the
// policies below before we read a single payload byte.
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netconf.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include <array>
#include <cstdio>
#include <cstring>

#include "ndpsync/netlink.hpp"

namespace ndpsync {
namespace {

constexpr std::uint16_t kIpv6Length = 16;

// libnl takes non-const headers but never writes through them.
nlmsghdr* mutable_header(const nlmsghdr* header) { return const_cast<nlmsghdr*>(header); }

Ipv6Address read_ipv6(const nlattr* attr) {
  Ipv6Address::Bytes bytes{};
  std::memcpy(bytes.data(), nla_data(attr), bytes.size());
  return Ipv6Address(bytes);
}

LinkAddress read_lladdr(const nlattr* attr) {
  return {static_cast<const std::uint8_t*>(nla_data(attr)),
          static_cast<std::size_t>(nla_len(attr))};
}

std::string malformed(const char* type, int error) {
  return std::string(type) + ": malformed message (" + nl_geterror(error) + ")";
}

template <std::size_t N>
using Policy = std::array<nla_policy, N>;

ParsedMessage parse_link(const nlmsghdr* header, Change change) {
  static const auto policy = [] {
    Policy<IFLA_MAX + 1> p{};
    p[IFLA_IFNAME] = {.type = NLA_STRING, .minlen = 0, .maxlen = IFNAMSIZ};
    p[IFLA_MASTER] = {.type = NLA_U32, .minlen = 0, .maxlen = 0};
    p[IFLA_LINKINFO] = {.type = NLA_NESTED, .minlen = 0, .maxlen = 0};
    p[IFLA_ADDRESS] = {.type = NLA_UNSPEC, .minlen = 0, .maxlen = 32};
    return p;
  }();
  static const auto info_policy = [] {
    Policy<IFLA_INFO_MAX + 1> p{};
    p[IFLA_INFO_KIND] = {.type = NLA_STRING, .minlen = 0, .maxlen = 64};
    return p;
  }();
  std::array<nlattr*, IFLA_MAX + 1> tb{};
  const int err = nlmsg_parse(mutable_header(header), sizeof(ifinfomsg), tb.data(), IFLA_MAX,
                              const_cast<nla_policy*>(policy.data()));
  if (err < 0) {
    return {.event = std::nullopt, .error = malformed("RTM_NEWLINK", err)};
  }
  const auto* info = static_cast<const ifinfomsg*>(nlmsg_data(header));
  // Bridges also announce port changes as AF_BRIDGE link messages: those are not links.
  if (info->ifi_family != AF_UNSPEC) {
    return {};
  }
  Link link;
  link.index = info->ifi_index;
  link.up = (info->ifi_flags & IFF_UP) != 0;
  link.carrier = (info->ifi_flags & IFF_LOWER_UP) != 0;
  link.loopback = (info->ifi_flags & IFF_LOOPBACK) != 0;
  if (tb[IFLA_IFNAME] == nullptr && change == Change::kNew) {
    return {.event = std::nullopt, .error = "RTM_NEWLINK: no IFLA_IFNAME"};
  }
  if (tb[IFLA_IFNAME] != nullptr) {
    link.name = nla_get_string(tb[IFLA_IFNAME]);
  }
  if (tb[IFLA_MASTER] != nullptr) {
    link.master = static_cast<IfIndex>(nla_get_u32(tb[IFLA_MASTER]));
  }
  if (tb[IFLA_ADDRESS] != nullptr) {
    link.mac = read_lladdr(tb[IFLA_ADDRESS]);
  }
  if (tb[IFLA_LINKINFO] != nullptr) {
    std::array<nlattr*, IFLA_INFO_MAX + 1> info_tb{};
    if (nla_parse_nested(info_tb.data(), IFLA_INFO_MAX, tb[IFLA_LINKINFO],
                         const_cast<nla_policy*>(info_policy.data())) < 0) {
      return {.event = std::nullopt, .error = "RTM_NEWLINK: malformed IFLA_LINKINFO"};
    }
    if (info_tb[IFLA_INFO_KIND] != nullptr) {
      link.kind = nla_get_string(info_tb[IFLA_INFO_KIND]);
    }
  }
  return {.event = LinkEvent{change, std::move(link)}, .error = {}};
}

ParsedMessage parse_address(const nlmsghdr* header, Change change) {
  static const auto policy = [] {
    Policy<IFA_MAX + 1> p{};
    p[IFA_ADDRESS] = {.type = NLA_UNSPEC, .minlen = kIpv6Length, .maxlen = kIpv6Length};
    p[IFA_LOCAL] = {.type = NLA_UNSPEC, .minlen = kIpv6Length, .maxlen = kIpv6Length};
    p[IFA_FLAGS] = {.type = NLA_U32, .minlen = 0, .maxlen = 0};
    return p;
  }();
  if (!nlmsg_valid_hdr(header, sizeof(ifaddrmsg))) {
    return {.event = std::nullopt, .error = "RTM_NEWADDR: shorter than its header"};
  }
  const auto* msg = static_cast<const ifaddrmsg*>(nlmsg_data(header));
  if (msg->ifa_family != AF_INET6) {
    return {};
  }
  std::array<nlattr*, IFA_MAX + 1> tb{};
  const int err = nlmsg_parse(mutable_header(header), sizeof(ifaddrmsg), tb.data(), IFA_MAX,
                              const_cast<nla_policy*>(policy.data()));
  if (err < 0) {
    return {.event = std::nullopt, .error = malformed("RTM_NEWADDR", err)};
  }
  // IFA_LOCAL is the local end of a point-to-point address; IFA_ADDRESS is then the peer.
  const nlattr* attr = tb[IFA_LOCAL] != nullptr ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
  if (attr == nullptr) {
    return {.event = std::nullopt, .error = "RTM_NEWADDR: no IFA_ADDRESS"};
  }
  if (msg->ifa_prefixlen > 128) {
    return {.event = std::nullopt, .error = "RTM_NEWADDR: prefix length over 128"};
  }
  Address address;
  address.ifindex = static_cast<IfIndex>(msg->ifa_index);
  address.address = read_ipv6(attr);
  address.prefix_length = msg->ifa_prefixlen;
  address.flags = tb[IFA_FLAGS] != nullptr ? nla_get_u32(tb[IFA_FLAGS]) : msg->ifa_flags;
  return {.event = AddressEvent{change, address}, .error = {}};
}

ParsedMessage parse_neighbour(const nlmsghdr* header, Change change) {
  static const auto policy = [] {
    Policy<NDA_MAX + 1> p{};
    p[NDA_DST] = {.type = NLA_UNSPEC, .minlen = kIpv6Length, .maxlen = kIpv6Length};
    p[NDA_LLADDR] = {.type = NLA_UNSPEC, .minlen = 0, .maxlen = 32};
    p[NDA_PROTOCOL] = {.type = NLA_U8, .minlen = 0, .maxlen = 0};
    return p;
  }();
  if (!nlmsg_valid_hdr(header, sizeof(ndmsg))) {
    return {.event = std::nullopt, .error = "RTM_NEWNEIGH: shorter than its header"};
  }
  const auto* msg = static_cast<const ndmsg*>(nlmsg_data(header));
  // Bridge FDB entries arrive on the same group with family AF_BRIDGE.
  if (msg->ndm_family != AF_INET6) {
    return {};
  }
  std::array<nlattr*, NDA_MAX + 1> tb{};
  const int err = nlmsg_parse(mutable_header(header), sizeof(ndmsg), tb.data(), NDA_MAX,
                              const_cast<nla_policy*>(policy.data()));
  if (err < 0) {
    return {.event = std::nullopt, .error = malformed("RTM_NEWNEIGH", err)};
  }
  if (tb[NDA_DST] == nullptr) {
    return {.event = std::nullopt, .error = "RTM_NEWNEIGH: no NDA_DST"};
  }
  const auto ifindex = static_cast<IfIndex>(msg->ndm_ifindex);
  if ((msg->ndm_flags & NTF_PROXY) != 0) {
    ProxyEntry entry{.ifindex = ifindex, .address = read_ipv6(tb[NDA_DST]), .protocol = 0};
    if (tb[NDA_PROTOCOL] != nullptr) {
      entry.protocol = nla_get_u8(tb[NDA_PROTOCOL]);
    }
    return {.event = ProxyEvent{change, entry}, .error = {}};
  }
  Neighbour neighbour;
  neighbour.ifindex = ifindex;
  neighbour.address = read_ipv6(tb[NDA_DST]);
  neighbour.state = NudState(msg->ndm_state);
  neighbour.router = (msg->ndm_flags & NTF_ROUTER) != 0;
  if (tb[NDA_LLADDR] != nullptr) {
    neighbour.lladdr = read_lladdr(tb[NDA_LLADDR]);
  }
  return {.event = NeighbourEvent{change, neighbour}, .error = {}};
}

ParsedMessage parse_route(const nlmsghdr* header, Change change) {
  static const auto policy = [] {
    Policy<RTA_MAX + 1> p{};
    p[RTA_DST] = {.type = NLA_UNSPEC, .minlen = kIpv6Length, .maxlen = kIpv6Length};
    p[RTA_GATEWAY] = {.type = NLA_UNSPEC, .minlen = kIpv6Length, .maxlen = kIpv6Length};
    p[RTA_OIF] = {.type = NLA_U32, .minlen = 0, .maxlen = 0};
    p[RTA_TABLE] = {.type = NLA_U32, .minlen = 0, .maxlen = 0};
    p[RTA_MULTIPATH] = {.type = NLA_UNSPEC, .minlen = sizeof(rtnexthop), .maxlen = 0};
    return p;
  }();
  if (!nlmsg_valid_hdr(header, sizeof(rtmsg))) {
    return {.event = std::nullopt, .error = "RTM_NEWROUTE: shorter than its header"};
  }
  const auto* msg = static_cast<const rtmsg*>(nlmsg_data(header));
  if (msg->rtm_family != AF_INET6 || msg->rtm_type != RTN_UNICAST ||
      (msg->rtm_flags & RTM_F_CLONED) != 0) {
    return {};
  }
  if (msg->rtm_dst_len > 128) {
    return {.event = std::nullopt, .error = "RTM_NEWROUTE: destination length over 128"};
  }
  std::array<nlattr*, RTA_MAX + 1> tb{};
  const int err = nlmsg_parse(mutable_header(header), sizeof(rtmsg), tb.data(), RTA_MAX,
                              const_cast<nla_policy*>(policy.data()));
  if (err < 0) {
    return {.event = std::nullopt, .error = malformed("RTM_NEWROUTE", err)};
  }
  Route route;
  route.destination =
      Prefix(tb[RTA_DST] != nullptr ? read_ipv6(tb[RTA_DST]) : Ipv6Address(), msg->rtm_dst_len);
  route.protocol = msg->rtm_protocol;
  route.table = tb[RTA_TABLE] != nullptr ? nla_get_u32(tb[RTA_TABLE]) : msg->rtm_table;
  if (tb[RTA_OIF] != nullptr) {
    route.oif = static_cast<IfIndex>(nla_get_u32(tb[RTA_OIF]));
  }
  if (tb[RTA_GATEWAY] != nullptr) {
    route.gateway = read_ipv6(tb[RTA_GATEWAY]);
  }
  if (tb[RTA_MULTIPATH] != nullptr && route.oif == 0) {
    // We keep the first hop: enough to know which interface the default route leaves by.
    rtnexthop first{};
    std::memcpy(&first, nla_data(tb[RTA_MULTIPATH]), sizeof(first));
    if (first.rtnh_len < sizeof(rtnexthop) || first.rtnh_len > nla_len(tb[RTA_MULTIPATH])) {
      return {.event = std::nullopt, .error = "RTM_NEWROUTE: malformed RTA_MULTIPATH"};
    }
    route.oif = first.rtnh_ifindex;
  }
  return {.event = RouteEvent{change, route}, .error = {}};
}

// Which interface's forwarding or proxy_ndp changed; all and default (negative indexes) are 0.
ParsedMessage parse_netconf(const nlmsghdr* header) {
  static const auto policy = [] {
    Policy<NETCONFA_MAX + 1> p{};
    p[NETCONFA_IFINDEX] = {.type = NLA_U32, .minlen = 0, .maxlen = 0};  // an s32 on the wire
    return p;
  }();
  if (nlmsg_datalen(header) < static_cast<int>(sizeof(netconfmsg))) {
    return {.event = std::nullopt, .error = "RTM_NEWNETCONF: shorter than its header"};
  }
  const auto* msg = static_cast<const netconfmsg*>(nlmsg_data(header));
  if (msg->ncm_family != AF_INET6) return {};
  std::array<nlattr*, NETCONFA_MAX + 1> tb{};
  const int err = nlmsg_parse(mutable_header(header), sizeof(netconfmsg), tb.data(), NETCONFA_MAX,
                              const_cast<nla_policy*>(policy.data()));
  if (err < 0) return {.event = std::nullopt, .error = malformed("RTM_NEWNETCONF", err)};
  if (tb[NETCONFA_IFINDEX] == nullptr) {
    return {.event = std::nullopt, .error = "RTM_NEWNETCONF: no NETCONFA_IFINDEX"};
  }
  const auto index = static_cast<std::int32_t>(nla_get_u32(tb[NETCONFA_IFINDEX]));
  return {.event = NetconfEvent{.ifindex = index > 0 ? index : 0}, .error = {}};
}

}  // namespace

ParsedMessage parse_message(const nlmsghdr* header) {
  switch (header->nlmsg_type) {
    case RTM_NEWLINK: return parse_link(header, Change::kNew);
    case RTM_DELLINK: return parse_link(header, Change::kDel);
    case RTM_NEWADDR: return parse_address(header, Change::kNew);
    case RTM_DELADDR: return parse_address(header, Change::kDel);
    case RTM_NEWNEIGH: return parse_neighbour(header, Change::kNew);
    case RTM_DELNEIGH: return parse_neighbour(header, Change::kDel);
    case RTM_NEWROUTE: return parse_route(header, Change::kNew);
    case RTM_DELROUTE: return parse_route(header, Change::kDel);
    case RTM_NEWNETCONF: return parse_netconf(header);
    default: return {};
  }
}

std::string for_each_message(std::span<const std::byte> buffer,
                             const std::function<void(const nlmsghdr*)>& visit) {
  auto remaining = static_cast<int>(buffer.size());
  auto* header = reinterpret_cast<nlmsghdr*>(const_cast<std::byte*>(buffer.data()));
  for (; nlmsg_ok(header, remaining); header = nlmsg_next(header, &remaining)) {
    visit(header);
  }
  if (remaining > 0) {
    return "netlink buffer ends inside a message (" + std::to_string(remaining) + " bytes left)";
  }
  return {};
}

}  // namespace ndpsync
