// ip6tables' and nft's text, read into ForwardFilters and judged rule by rule.
#include "ndpsync/firewall.hpp"

#include <algorithm>
#include <initializer_list>
#include <sstream>

namespace ndpsync {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

// The words of a rule, in either tool's spelling: nft's quotes and commas separate too, and an
// anonymous set's braces are words of their own.
std::vector<std::string> tokens_of(const std::string& rule) {
  std::vector<std::string> tokens;
  std::string token;
  for (const char c : rule + " ") {
    if (c == ' ' || c == '"' || c == '{' || c == '}' || c == ',') {
      if (!token.empty()) tokens.push_back(std::move(token));
      token.clear();
      if (c == '{' || c == '}') tokens.emplace_back(1, c);
    } else {
      token += c;
    }
  }
  return tokens;
}

// The value at tokens[v]: one word, or every element of an nft set (`{ "eth9", "veth*" }`).
std::vector<std::string> values_at(const std::vector<std::string>& tokens, std::size_t v) {
  if (tokens[v] != "{") return {tokens[v]};
  std::vector<std::string> values;
  for (++v; v < tokens.size() && tokens[v] != "}"; ++v) values.push_back(tokens[v]);
  return values;
}

bool is_any(const std::string& token, std::initializer_list<std::string_view> words) {
  return std::find(words.begin(), words.end(), token) != words.end();
}

// True when `word` names a container interface; iptables' "veth+" and nft's "veth*" are prefix
// wildcards.
bool names_interface(const std::string& word, const ContainerSide& side) {
  const bool wildcard = !word.empty() && (word.back() == '+' || word.back() == '*');
  return std::any_of(side.interfaces.begin(), side.interfaces.end(), [&](const std::string& name) {
    return word == name || (wildcard && name.starts_with(word.substr(0, word.size() - 1)));
  });
}

// True when `word` is a container's address or a prefix that covers one.
bool covers_container(const std::string& word, const ContainerSide& side) {
  const auto prefix = Prefix::parse(word);
  const auto address = Ipv6Address::parse(word);
  return std::any_of(side.addresses.begin(), side.addresses.end(), [&](const Ipv6Address& a) {
    return (prefix && prefix->contains(a)) || (address && *address == a);
  });
}

bool accepts_new(const std::string& rule) {
  const auto has = [&](std::string_view word) { return rule.find(word) != std::string::npos; };
  return (has("ACCEPT") || has("accept")) && !has("ESTABLISHED") && !has("established");
}

}  // namespace

std::string_view to_string(FirewallTool tool) {
  return tool == FirewallTool::kNft ? "nft" : "ip6tables";
}

std::optional<ForwardFilter> ip6tables_filter(const std::string& text) {
  bool drops = false;
  ForwardFilter filter{.tool = FirewallTool::kIp6tables, .chain = "FORWARD", .rules = {}};
  for (const auto& line : lines_of(text)) {
    if (line == "-P FORWARD DROP") drops = true;
    if (line.starts_with("-A ")) filter.rules.push_back(line);
  }
  if (!drops) return std::nullopt;
  return filter;
}

std::vector<ForwardFilter> nft_filters(const std::string& text, Ip6tablesTable ip6tables_table) {
  std::vector<ForwardFilter> filters;
  std::string table;
  std::optional<ForwardFilter> chain;
  bool forward_drop = false;
  for (const auto& raw : lines_of(text)) {
    const auto line = trim(raw);
    if (line.starts_with("table ")) {
      table = line.substr(6, line.find(" {") - 6);
    } else if (line.starts_with("chain ")) {
      chain = ForwardFilter{.tool = FirewallTool::kNft,
                            .chain = table + " " + line.substr(6, line.find(" {") - 6),
                            .rules = {}};
      forward_drop = false;
    } else if (chain && line == "}") {
      const bool ip6 = table.starts_with("ip6 ") || table.starts_with("inet ");
      const bool ip6tables_own =
          ip6tables_table == Ip6tablesTable::kSkip && chain->chain == "ip6 filter FORWARD";
      if (forward_drop && ip6 && !ip6tables_own) filters.push_back(std::move(*chain));
      chain.reset();
    } else if (chain) {
      if (line.find("hook forward") != std::string::npos &&
          line.find("policy drop") != std::string::npos) {
        forward_drop = true;
      } else if (!line.empty()) {
        chain->rules.push_back(line);
      }
    }
  }
  return filters;
}

bool lets_containers_in(const std::string& rule, const ContainerSide& side) {
  if (!accepts_new(rule)) return false;
  const auto tokens = tokens_of(rule);
  bool to_containers = false;
  bool negated = false;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const auto& key = tokens[i];
    if (key == "!") {
      negated = true;
      continue;
    }
    std::size_t v = i + 1;
    if (v < tokens.size() && tokens[v] == "!=") {
      negated = true;
      ++v;
    }
    if (v >= tokens.size()) break;
    const auto values = values_at(tokens, v);
    const auto any = [&values, &side](auto&& test) {
      return std::any_of(values.begin(), values.end(),
                         [&](const std::string& value) { return test(value, side); });
    };
    if (is_any(key, {"-i", "--in-interface", "iifname", "iif"}) && !negated &&
        any(names_interface)) {
      return false;
    }
    if (!negated &&
        ((is_any(key, {"-o", "--out-interface", "oifname", "oif"}) && any(names_interface)) ||
         (is_any(key, {"-d", "--destination", "daddr"}) && any(covers_container)))) {
      to_containers = true;
    }
    negated = false;
  }
  return to_containers;
}

}  // namespace ndpsync
