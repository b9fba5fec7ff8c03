// bench/parse.cpp — parsing cost per netlink message: our raw attribute parsers
// (src/kernel/netlink_parse.cpp) against libnl-route-3's object parsers, per message type.
//
//   build/test/bench_parse [ROUNDS]   (default 2000)
//
// The messages are real: it dumps the links, IPv6 addresses, neighbours, routes and proxy
// entries of the network namespace it runs in (read only; no privilege needed), so run it in a
// namespace that holds a few of each (bench/parse.sh builds one). For each message it first checks
// that both parsers read the same event, then times them and counts heap allocations (malloc,
// calloc, realloc, operator new) per message. One JSON line per message type.
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netlink/msg.h>
#include <netlink/object.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "ndpsync/netlink.hpp"

// --- counting allocations: every malloc in the process, libnl's included ---
extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t count, std::size_t size);
void* __libc_realloc(void* pointer, std::size_t size);
void __libc_free(void* pointer);
}
namespace {
std::size_t g_allocations = 0;
std::size_t g_bytes = 0;
}  // namespace
extern "C" {
void* malloc(std::size_t size) {
  ++g_allocations;
  g_bytes += size;
  return __libc_malloc(size);
}
void* calloc(std::size_t count, std::size_t size) {
  ++g_allocations;
  g_bytes += count * size;
  return __libc_calloc(count, size);
}
void* realloc(void* pointer, std::size_t size) {
  ++g_allocations;
  g_bytes += size;
  return __libc_realloc(pointer, size);
}
void free(void* pointer) { __libc_free(pointer); }
}

using namespace ndpsync;

namespace {

// --- the libnl-route-3 variants, producing the same events as parse_message ---

Ipv6Address ipv6_of(nl_addr* addr) {
  Ipv6Address::Bytes bytes{};
  if (addr != nullptr && nl_addr_get_len(addr) == bytes.size()) {
    std::memcpy(bytes.data(), nl_addr_get_binary_addr(addr), bytes.size());
  }
  return Ipv6Address(bytes);
}

// nl_msg_parse hands over each object it parsed; keep the one.
template <typename Object>
Object* parse_object(const nlmsghdr* header, int& error) {
  nl_msg* msg = nlmsg_convert(const_cast<nlmsghdr*>(header));
  if (msg == nullptr) {
    error = -NLE_NOMEM;
    return nullptr;
  }
  nlmsg_set_proto(msg, NETLINK_ROUTE);
  nl_object* object = nullptr;
  error = nl_msg_parse(
      msg,
      [](nl_object* parsed, void* arg) {
        nl_object_get(parsed);
        *static_cast<nl_object**>(arg) = parsed;
      },
      &object);
  nlmsg_free(msg);
  return reinterpret_cast<Object*>(object);
}

Change change_of(const nlmsghdr* header, int del) {
  return header->nlmsg_type == del ? Change::kDel : Change::kNew;
}

ParsedMessage libnl_link(const nlmsghdr* header) {
  if (!nlmsg_valid_hdr(header, sizeof(ifinfomsg)) ||
      static_cast<const ifinfomsg*>(nlmsg_data(header))->ifi_family != AF_UNSPEC) {
    return {};
  }
  int error = 0;
  auto* object = parse_object<rtnl_link>(header, error);
  if (object == nullptr) {
    return {.event = std::nullopt, .error = std::string("RTM_NEWLINK: ") + nl_geterror(error)};
  }
  Link link;
  link.index = rtnl_link_get_ifindex(object);
  const unsigned flags = rtnl_link_get_flags(object);
  link.up = (flags & IFF_UP) != 0;
  link.carrier = (flags & IFF_LOWER_UP) != 0;
  link.loopback = (flags & IFF_LOOPBACK) != 0;
  if (const char* name = rtnl_link_get_name(object)) link.name = name;
  if (const char* kind = rtnl_link_get_type(object)) link.kind = kind;
  link.master = rtnl_link_get_master(object);
  if (nl_addr* mac = rtnl_link_get_addr(object)) {
    link.mac = LinkAddress(static_cast<const std::uint8_t*>(nl_addr_get_binary_addr(mac)),
                           nl_addr_get_len(mac));
  }
  rtnl_link_put(object);
  return {.event = LinkEvent{change_of(header, RTM_DELLINK), std::move(link)}, .error = {}};
}

ParsedMessage libnl_address(const nlmsghdr* header) {
  int error = 0;
  auto* object = parse_object<rtnl_addr>(header, error);
  if (object == nullptr) {
    return {.event = std::nullopt, .error = std::string("RTM_NEWADDR: ") + nl_geterror(error)};
  }
  Address address;
  address.ifindex = rtnl_addr_get_ifindex(object);
  address.address = ipv6_of(rtnl_addr_get_local(object));
  address.prefix_length = static_cast<unsigned>(rtnl_addr_get_prefixlen(object));
  address.flags = rtnl_addr_get_flags(object);
  rtnl_addr_put(object);
  return {.event = AddressEvent{change_of(header, RTM_DELADDR), address}, .error = {}};
}

ParsedMessage libnl_route(const nlmsghdr* header) {
  // The same early filter as the raw parser: no object for what we would drop anyway.
  if (!nlmsg_valid_hdr(header, sizeof(rtmsg))) return {.event = std::nullopt, .error = "short"};
  const auto* msg = static_cast<const rtmsg*>(nlmsg_data(header));
  if (msg->rtm_family != AF_INET6 || msg->rtm_type != RTN_UNICAST ||
      (msg->rtm_flags & RTM_F_CLONED) != 0) {
    return {};
  }
  rtnl_route* object = nullptr;
  if (const int error = rtnl_route_parse(const_cast<nlmsghdr*>(header), &object); error < 0) {
    return {.event = std::nullopt, .error = std::string("RTM_NEWROUTE: ") + nl_geterror(error)};
  }
  ParsedMessage parsed;
  if (rtnl_route_get_family(object) == AF_INET6 && rtnl_route_get_type(object) == RTN_UNICAST &&
      (rtnl_route_get_flags(object) & RTM_F_CLONED) == 0) {
    Route route;
    nl_addr* dst = rtnl_route_get_dst(object);
    route.destination = Prefix(ipv6_of(dst), nl_addr_get_prefixlen(dst));
    route.protocol = rtnl_route_get_protocol(object);
    route.table = rtnl_route_get_table(object);
    if (rtnl_route_get_nnexthops(object) > 0) {
      rtnl_nexthop* hop = rtnl_route_nexthop_n(object, 0);
      route.oif = rtnl_route_nh_get_ifindex(hop);
      if (nl_addr* gateway = rtnl_route_nh_get_gateway(hop)) route.gateway = ipv6_of(gateway);
    }
    parsed.event = RouteEvent{change_of(header, RTM_DELROUTE), route};
  }
  rtnl_route_put(object);
  return parsed;
}

// libnl has no NDA_PROTOCOL: a proxy entry reads back without its owner tag.
ParsedMessage libnl_neighbour(const nlmsghdr* header) {
  rtnl_neigh* object = nullptr;
  if (const int error = rtnl_neigh_parse(const_cast<nlmsghdr*>(header), &object); error < 0) {
    return {.event = std::nullopt, .error = std::string("RTM_NEWNEIGH: ") + nl_geterror(error)};
  }
  const auto change = change_of(header, RTM_DELNEIGH);
  const auto ifindex = rtnl_neigh_get_ifindex(object);
  const auto address = ipv6_of(rtnl_neigh_get_dst(object));
  ParsedMessage parsed;
  if ((rtnl_neigh_get_flags(object) & NTF_PROXY) != 0) {
    parsed.event = ProxyEvent{change, {ifindex, address, 0}};
  } else {
    Neighbour n{ifindex,
                address,
                ndpsync::NudState(static_cast<std::uint16_t>(rtnl_neigh_get_state(object))),
                (rtnl_neigh_get_flags(object) & NTF_ROUTER) != 0,
                {}};
    if (nl_addr* ll = rtnl_neigh_get_lladdr(object)) {
      n.lladdr = LinkAddress(static_cast<const std::uint8_t*>(nl_addr_get_binary_addr(ll)),
                             nl_addr_get_len(ll));
    }
    parsed.event = NeighbourEvent{change, n};
  }
  rtnl_neigh_put(object);
  return parsed;
}

// --- capturing real messages from this namespace ---

using Message = std::vector<std::uint32_t>;  // 4-byte aligned, as in a socket buffer

std::vector<Message> dump(int fd, std::uint16_t type, const void* header, std::size_t length) {
  static std::uint32_t seq = 1;
  std::vector<std::byte> request(NLMSG_SPACE(length));
  auto* h = reinterpret_cast<nlmsghdr*>(request.data());
  h->nlmsg_len = NLMSG_LENGTH(length);
  h->nlmsg_type = type;
  h->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  h->nlmsg_seq = ++seq;
  std::memcpy(NLMSG_DATA(h), header, length);
  std::vector<Message> out;
  if (send(fd, request.data(), h->nlmsg_len, 0) < 0) return out;
  std::vector<std::byte> buffer(32U << 10U);
  while (true) {
    const auto n = recv(fd, buffer.data(), buffer.size(), 0);
    if (n <= 0) return out;
    bool done = false;
    for_each_message(std::span(buffer.data(), static_cast<std::size_t>(n)), [&](const nlmsghdr* m) {
      if (m->nlmsg_type == NLMSG_DONE || m->nlmsg_type == NLMSG_ERROR) {
        done = true;
      } else if (m->nlmsg_seq == seq) {
        Message copy((m->nlmsg_len + 3) / 4);
        std::memcpy(copy.data(), m, m->nlmsg_len);
        out.push_back(std::move(copy));
      }
    });
    if (done) return out;
  }
}

std::map<std::string, std::vector<Message>> capture() {
  std::map<std::string, std::vector<Message>> messages;
  const int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return messages;
  ifinfomsg link{};
  ifaddrmsg addr{};
  addr.ifa_family = AF_INET6;
  ndmsg neigh{};
  neigh.ndm_family = AF_INET6;
  ndmsg proxy = neigh;
  proxy.ndm_flags = NTF_PROXY;
  rtmsg route{};
  route.rtm_family = AF_INET6;
  messages["link"] = dump(fd, RTM_GETLINK, &link, sizeof(link));
  messages["address"] = dump(fd, RTM_GETADDR, &addr, sizeof(addr));
  messages["neighbour"] = dump(fd, RTM_GETNEIGH, &neigh, sizeof(neigh));
  messages["proxy"] = dump(fd, RTM_GETNEIGH, &proxy, sizeof(proxy));
  messages["route"] = dump(fd, RTM_GETROUTE, &route, sizeof(route));
  close(fd);
  return messages;
}

// --- comparing and timing ---

bool same(const ParsedMessage& a, const ParsedMessage& b, bool ignore_protocol) {
  if (a.event.has_value() != b.event.has_value()) return false;
  if (!a.event) return true;
  if (a.event->index() != b.event->index()) return false;
  return std::visit(
      [&](const auto& x) {
        using E = std::decay_t<decltype(x)>;
        const auto& y = std::get<E>(*b.event);
        if constexpr (std::is_same_v<E, NetconfEvent>) {
          return x.ifindex == y.ifindex;
        } else {
          if (x.change != y.change) return false;
        }
        if constexpr (std::is_same_v<E, LinkEvent>) return x.link == y.link;
        if constexpr (std::is_same_v<E, AddressEvent>) return x.address == y.address;
        if constexpr (std::is_same_v<E, NeighbourEvent>) return x.neighbour == y.neighbour;
        if constexpr (std::is_same_v<E, RouteEvent>) return x.route == y.route;
        if constexpr (std::is_same_v<E, ProxyEvent>) {
          return x.entry.ifindex == y.entry.ifindex && x.entry.address == y.entry.address &&
                 (ignore_protocol || x.entry.protocol == y.entry.protocol);
        }
        return false;
      },
      *a.event);
}

struct Cost {
  double ns = 0;
  double allocations = 0;
  double bytes = 0;
};

template <typename Parse>
Cost measure(const std::vector<Message>& messages, int rounds, Parse parse) {
  std::size_t sink = 0;
  const auto allocations = g_allocations;
  const auto bytes = g_bytes;
  const auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < rounds; ++r) {
    for (const auto& m : messages) {
      const auto parsed = parse(reinterpret_cast<const nlmsghdr*>(m.data()));
      sink += parsed.event.has_value() ? 1 : 0;
    }
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  const double count = static_cast<double>(messages.size()) * rounds;
  if (sink == static_cast<std::size_t>(-1)) std::puts("");
  return {.ns = std::chrono::duration<double, std::nano>(elapsed).count() / count,
          .allocations = static_cast<double>(g_allocations - allocations) / count,
          .bytes = static_cast<double>(g_bytes - bytes) / count};
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 2000;
  const std::map<std::string, ParsedMessage (*)(const nlmsghdr*)> libnl = {
      {"link", libnl_link},           {"address", libnl_address}, {"route", libnl_route},
      {"neighbour", libnl_neighbour}, {"proxy", libnl_neighbour},
  };
  int status = 0;
  for (const auto& [type, messages] : capture()) {
    if (messages.empty()) {
      std::printf("{\"type\": \"%s\", \"messages\": 0}\n", type.c_str());
      continue;
    }
    std::size_t differ = 0;
    std::size_t bytes = 0;
    for (const auto& m : messages) {
      const auto* h = reinterpret_cast<const nlmsghdr*>(m.data());
      bytes += h->nlmsg_len;
      differ += same(parse_message(h), libnl.at(type)(h), type == "proxy") ? 0 : 1;
    }
    const auto raw = measure(messages, rounds, parse_message);
    const auto lib = measure(messages, rounds, libnl.at(type));
    std::printf(
        "{\"type\": \"%s\", \"messages\": %zu, \"mean_bytes\": %zu, \"differ\": %zu, "
        "\"raw_ns\": %.0f, \"raw_allocs\": %.2f, \"raw_alloc_bytes\": %.0f, "
        "\"libnl_ns\": %.0f, \"libnl_allocs\": %.2f, \"libnl_alloc_bytes\": %.0f}\n",
        type.c_str(), messages.size(), bytes / messages.size(), differ, raw.ns, raw.allocations,
        raw.bytes, lib.ns, lib.allocations, lib.bytes);
    if (differ != 0) status = 1;
  }
  return status;
}
