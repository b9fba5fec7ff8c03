// The forward firewall as ip6tables and nft print it: which chains drop forwarded traffic by
// default, and whether a rule lets new traffic in to the containers. Pure text in, values out;
// `ndpsync doctor` runs the tools (src/cli/doctor_facts.cpp) and judges with these.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ndpsync/types.hpp"

namespace ndpsync {

enum class FirewallTool : std::uint8_t { kIp6tables, kNft };

// "ip6tables" or "nft".
std::string_view to_string(FirewallTool tool);

// One chain of a forward firewall that ends in a drop (its policy, or a final rule).
struct ForwardFilter {
  FirewallTool tool = FirewallTool::kIp6tables;
  std::string chain;  // "FORWARD", "inet filter forward", ...
  // The chain's rules as the tool prints them: an accept that names a downstream interface or
  // covers a container's address lets the containers' traffic through.
  std::vector<std::string> rules;
};

// `ip6tables -S`: a FORWARD chain with a DROP policy, with every rule of every chain (an accept
// for the containers may sit in a chain FORWARD jumps to: DOCKER-USER, ufw6-user-forward...);
// nullopt when FORWARD does not drop by default.
std::optional<ForwardFilter> ip6tables_filter(const std::string& text);

// Whether nft_filters() reports the table ip6tables-nft keeps (ip6 filter): skipped when
// ip6tables already reported the same chain.
enum class Ip6tablesTable : std::uint8_t { kInclude, kSkip };

// `nft list ruleset`: the forward-hook chains of ip6 and inet tables whose policy is drop.
std::vector<ForwardFilter> nft_filters(const std::string& text, Ip6tablesTable ip6tables_table);

// The containers' side as a rule may name it: their interfaces and their addresses.
struct ContainerSide {
  std::vector<std::string> interfaces;
  std::vector<Ipv6Address> addresses;
};

// True when a rule accepts new traffic from the uplink to the containers: it accepts, not only
// established connections; it matches their output interface (-o, oifname) or destination
// (-d, daddr); and it does not require a container interface as the input (-i docker0 -o
// docker0 is traffic between containers). A negated match ("! -o", "!=") matches nothing here.
bool lets_containers_in(const std::string& rule, const ContainerSide& side);

}  // namespace ndpsync
