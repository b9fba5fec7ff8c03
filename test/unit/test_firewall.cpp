// The forward firewall's text, read: which chains drop by default (ip6tables -S, nft list
// ruleset), and which rules let new traffic in to the containers.
#include "catch2_compat.hpp"

#include "ndpsync/firewall.hpp"

namespace ndpsync {
namespace {

TEST_CASE("firewall: the tools' names") {
  CHECK(to_string(FirewallTool::kIp6tables) == "ip6tables");
  CHECK(to_string(FirewallTool::kNft) == "nft");
}

TEST_CASE("firewall: ip6tables -S, a DROP policy and every chain's rules") {
  const auto filter = ip6tables_filter(
      "-P INPUT ACCEPT\n-P FORWARD DROP\n-N DOCKER-USER\n-A FORWARD -j DOCKER-USER\n"
      "-A DOCKER-USER -j RETURN\n");
  REQUIRE(filter);
  CHECK(filter->tool == FirewallTool::kIp6tables);
  CHECK(filter->chain == "FORWARD");
  CHECK(filter->rules ==
        std::vector<std::string>{"-A FORWARD -j DOCKER-USER", "-A DOCKER-USER -j RETURN"});
  CHECK_FALSE(ip6tables_filter("-P FORWARD ACCEPT\n-A FORWARD -j DROP\n"));
  CHECK_FALSE(ip6tables_filter(""));
}

TEST_CASE("firewall: nft, ip6 and inet forward chains with a drop policy") {
  const std::string ruleset =
      "table ip6 filter {\n\tchain FORWARD {\n"
      "\t\ttype filter hook forward priority filter; policy drop;\n"
      "\t\toifname \"br0\" accept\n\t}\n}\n"
      "table inet fw {\n\tchain fwd {\n"
      "\t\ttype filter hook forward priority 0; policy accept;\n\t}\n"
      "\tchain out {\n\t\ttype filter hook output priority 0; policy drop;\n\t}\n}\n";
  const auto all = nft_filters(ruleset, Ip6tablesTable::kInclude);
  REQUIRE(all.size() == 1);
  CHECK(all[0].tool == FirewallTool::kNft);
  CHECK(all[0].chain == "ip6 filter FORWARD");
  CHECK(all[0].rules == std::vector<std::string>{"oifname \"br0\" accept"});
  CHECK(nft_filters(ruleset, Ip6tablesTable::kSkip).empty());
}

struct RuleCase {
  const char* description;
  const char* rule;
  bool lets_in;
};

TEST_CASE("firewall: which rules let new traffic in to the containers") {
  const ContainerSide side{.interfaces = {"br0", "veth1a2b"},
                           .addresses = {*Ipv6Address::parse("2001:db8:0:1::2:1")}};
  const std::vector<RuleCase> cases = {
      {.description = "ip6tables, out to a bridge",
       .rule = "-A FORWARD -o br0 -j ACCEPT",
       .lets_in = true},
      {.description = "nft, out to a bridge", .rule = "oifname \"br0\" accept", .lets_in = true},
      {.description = "a wildcard", .rule = "-A FORWARD -o veth+ -j ACCEPT", .lets_in = true},
      {.description = "nft's wildcard in a set",
       .rule = "oifname { \"veth*\", \"eth9\" } accept",
       .lets_in = true},
      {.description = "a container's interface later in a set",
       .rule = "oifname { \"eth9\", \"veth*\" } accept",
       .lets_in = true},
      {.description = "a set of other interfaces",
       .rule = "oifname { \"eth9\", \"eth8\" } accept",
       .lets_in = false},
      {.description = "in from a set that holds a container's interface",
       .rule = "iifname { \"eth9\", \"br0\" } oifname \"br0\" accept",
       .lets_in = false},
      {.description = "to a set of addresses",
       .rule = "ip6 daddr { 2001:db8:9::1, 2001:db8:0:1::2:1 } accept",
       .lets_in = true},
      {.description = "to their prefix",
       .rule = "-A DOCKER-USER -d 2001:db8:0:1::/64 -j ACCEPT",
       .lets_in = true},
      {.description = "to one container",
       .rule = "ip6 daddr 2001:db8:0:1::2:1 accept",
       .lets_in = true},
      {.description = "to another prefix",
       .rule = "-A FORWARD -d 2001:db8:9::/64 -j ACCEPT",
       .lets_in = false},
      {.description = "to another interface",
       .rule = "-A FORWARD -o eth1 -j ACCEPT",
       .lets_in = false},
      {.description = "established only",
       .rule = "-A FORWARD -o br0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
       .lets_in = false},
      {.description = "nft, established only",
       .rule = "oifname \"br0\" ct state established accept",
       .lets_in = false},
      {.description = "a jump, no accept", .rule = "-A FORWARD -o br0 -j DOCKER", .lets_in = false},
      {.description = "negated, ip6tables",
       .rule = "-A FORWARD ! -o br0 -j ACCEPT",
       .lets_in = false},
      {.description = "negated, nft",
       .rule = "iifname \"eth0\" oifname != \"br0\" accept",
       .lets_in = false},
      {.description = "between containers",
       .rule = "-A FORWARD -i br0 -o br0 -j ACCEPT",
       .lets_in = false},
      {.description = "in from the uplink",
       .rule = "-A FORWARD -i eth0 -o br0 -j ACCEPT",
       .lets_in = true},
  };
  for (const auto& c : cases) {
    INFO(c.description << ": " << c.rule);
    CHECK(lets_containers_in(c.rule, side) == c.lets_in);
  }
}

}  // namespace
}  // namespace ndpsync
