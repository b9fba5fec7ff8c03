// Value types shared by every layer. No kernel structure (rtnl_*, nl_msg, nlmsghdr) ever
// leaves the netlink adapter: it is converted into these at the boundary.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ndpsync {

class Ipv6Address {
 public:
  using Bytes = std::array<std::uint8_t, 16>;

  constexpr Ipv6Address() = default;
  constexpr explicit Ipv6Address(const Bytes& bytes) : bytes_(bytes) {}

  // Accepts every textual form inet_pton accepts; nothing else (no zone, no brackets).
  static std::optional<Ipv6Address> parse(std::string_view text);

  [[nodiscard]] const Bytes& bytes() const { return bytes_; }
  [[nodiscard]] std::string to_string() const;  // RFC 5952 canonical form

  [[nodiscard]] bool is_unspecified() const;
  [[nodiscard]] bool is_loopback() const;
  [[nodiscard]] bool is_multicast() const { return bytes_[0] == 0xff; }
  [[nodiscard]] bool is_link_local() const {
    return bytes_[0] == 0xfe && (bytes_[1] & 0xc0) == 0x80;
  }

  // clang-tidy 14 takes the synthesized comparisons' 0 for a null pointer.
  // NOLINTNEXTLINE(modernize-use-nullptr)
  auto operator<=>(const Ipv6Address&) const = default;

 private:
  Bytes bytes_{};
};

class Prefix {
 public:
  constexpr Prefix() = default;
  // Host bits are cleared, so 2001:db8::1/64 and 2001:db8::/64 are the same prefix.
  Prefix(const Ipv6Address& address, unsigned length);

  // "ADDR/LEN" with 0 <= LEN <= 128. A bare address is not a prefix.
  static std::optional<Prefix> parse(std::string_view text);

  [[nodiscard]] const Ipv6Address& network() const { return network_; }
  [[nodiscard]] unsigned length() const { return length_; }
  [[nodiscard]] bool contains(const Ipv6Address& address) const;
  [[nodiscard]] bool contains(const Prefix& other) const {
    return other.length_ >= length_ && contains(other.network_);
  }
  [[nodiscard]] std::string to_string() const;

  // clang-tidy 14 takes the synthesized comparisons' 0 for a null pointer.
  // NOLINTNEXTLINE(modernize-use-nullptr)
  auto operator<=>(const Prefix&) const = default;

 private:
  Ipv6Address network_;
  unsigned length_ = 0;
};

using IfIndex = int;

// A link-layer address (IFLA_ADDRESS, NDA_LLADDR), kept inline: a neighbour costs no allocation
// for it. Room for the longest the kernel has (MAX_ADDR_LEN), so nothing is ever cut.
class LinkAddress {
 public:
  static constexpr std::size_t kCapacity = 32;

  constexpr LinkAddress() = default;
  // Bytes beyond kCapacity are dropped (the kernel never sends them).
  LinkAddress(const std::uint8_t* data, std::size_t size);
  // "aa:bb:cc:dd:ee:ff" (any number of bytes, two hex digits each); "" is the empty address.
  static std::optional<LinkAddress> parse(std::string_view text);

  [[nodiscard]] bool empty() const { return size_ == 0; }
  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] const std::uint8_t* data() const { return bytes_.data(); }
  [[nodiscard]] std::string to_string() const;

  // Unused bytes stay zero, so comparing the whole array is exact.
  // clang-tidy 14 takes the synthesized comparisons' 0 for a null pointer.
  // NOLINTNEXTLINE(modernize-use-nullptr)
  auto operator<=>(const LinkAddress&) const = default;

 private:
  std::array<std::uint8_t, kCapacity> bytes_{};
  std::uint8_t size_ = 0;
};

struct Link {
  IfIndex index = 0;
  std::string name;
  std::string kind;  // IFLA_INFO_KIND: "veth", "bridge", ...; empty for physical devices and lo
  IfIndex master = 0;
  bool up = false;       // IFF_UP
  bool carrier = false;  // IFF_LOWER_UP
  bool loopback = false;
  LinkAddress mac;  // IFLA_ADDRESS; empty when the link has none

  auto operator<=>(const Link&) const = default;
};

// What logs, reports and checks call an interface whose name is not known (it went away, or no
// dump has named it yet): "if" and its index, "if7". The one fallback for a missing name.
std::string unnamed_interface(IfIndex index);
// `link`'s name, or unnamed_interface(index) when there is no such link.
std::string interface_name(const Link* link, IfIndex index);

// Flags of IFA_FLAGS that policy cares about (values match the kernel's IFA_F_*).
enum AddressFlag : std::uint32_t {
  kAddrTemporary = 0x01,
  kAddrDadFailed = 0x08,
  kAddrDeprecated = 0x20,
  kAddrTentative = 0x40,
  kAddrPermanent = 0x80,        // no lifetime: configured by hand; SLAAC's and DHCPv6's have one
  kAddrManageTempAddr = 0x100,  // mngtmpaddr: temporary addresses are made from RA prefixes
};

struct Address {
  IfIndex ifindex = 0;
  Ipv6Address address;
  unsigned prefix_length = 128;
  std::uint32_t flags = 0;

  auto operator<=>(const Address&) const = default;
};

// A neighbour's state: the kernel's NUD_* bits, as a type of its own so that it cannot be mixed up
// with flags or counts.
class NudState {
 public:
  constexpr NudState() = default;
  constexpr explicit NudState(std::uint16_t bits) : bits_(bits) {}

  [[nodiscard]] constexpr std::uint16_t bits() const { return bits_; }
  // True when this state is one of `set`.
  [[nodiscard]] constexpr bool in(NudState set) const { return (bits_ & set.bits_) != 0; }
  friend constexpr NudState operator|(NudState a, NudState b) {
    return NudState(static_cast<std::uint16_t>(a.bits_ | b.bits_));
  }
  auto operator<=>(const NudState&) const = default;

 private:
  std::uint16_t bits_ = 0;
};

inline constexpr NudState kNudNone{0x00};
inline constexpr NudState kNudIncomplete{0x01};
inline constexpr NudState kNudReachable{0x02};
inline constexpr NudState kNudStale{0x04};
inline constexpr NudState kNudDelay{0x08};
inline constexpr NudState kNudProbe{0x10};
inline constexpr NudState kNudFailed{0x20};
inline constexpr NudState kNudNoArp{0x40};
inline constexpr NudState kNudPermanent{0x80};

// A neighbour in one of these states is evidence that the node is there. INCOMPLETE and NONE say
// nothing yet; FAILED says it did not answer (docs/design.md, "Neighbour states").
inline constexpr NudState kNudPresent =
    kNudReachable | kNudStale | kNudDelay | kNudProbe | kNudPermanent | kNudNoArp;
// States in which the kernel itself has confirmed the node recently, or never needs to.
inline constexpr NudState kNudConfirmed = kNudReachable | kNudPermanent | kNudNoArp;
// Entries an admin (or a runtime) set by hand: garbage collection never removes them.
inline constexpr NudState kNudStatic = kNudPermanent | kNudNoArp;
// The kernel has a verdict: confirmed, or failed.
inline constexpr NudState kNudSettled = kNudConfirmed | kNudFailed;

// What the kernel says about a neighbour, without the (ifindex, address) that names it: the
// observed state keys its table by those, and holds one of these per container.
struct NeighbourInfo {
  NudState state;
  bool router = false;  // NTF_ROUTER
  LinkAddress lladdr;   // NDA_LLADDR; empty when unresolved

  [[nodiscard]] bool present() const { return state.in(kNudPresent); }
  auto operator<=>(const NeighbourInfo&) const = default;
};

struct Neighbour {
  IfIndex ifindex = 0;
  Ipv6Address address;
  NudState state;
  bool router = false;  // NTF_ROUTER
  LinkAddress lladdr;   // NDA_LLADDR; empty when unresolved

  [[nodiscard]] bool present() const { return state.in(kNudPresent); }
  [[nodiscard]] NeighbourInfo info() const { return {state, router, lladdr}; }
  auto operator<=>(const Neighbour&) const = default;
};

struct Route {
  Prefix destination;
  IfIndex oif = 0;
  std::optional<Ipv6Address> gateway;
  std::uint8_t protocol = 0;
  std::uint32_t table = 254;  // RT_TABLE_MAIN

  [[nodiscard]] bool is_default() const { return destination.length() == 0; }
  auto operator<=>(const Route&) const = default;
};

// A kernel proxy-NDP entry (`ip -6 neigh add proxy ADDR dev IF`).
struct ProxyEntry {
  IfIndex ifindex = 0;
  Ipv6Address address;
  std::uint8_t protocol = 0;  // NDA_PROTOCOL; 0 when the entry carries none

  auto operator<=>(const ProxyEntry&) const = default;
};

std::string to_string(const ProxyEntry& entry);
std::string nud_state_name(NudState state);

}  // namespace ndpsync
