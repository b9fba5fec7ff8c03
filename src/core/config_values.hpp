// Reading one config value from JSON: each reader checks the value's type and range and, when
// it is wrong, throws a ConfigError that names the key path. Private to the core library; used by
// the table of keys (config_keys.cpp) and by config.cpp.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ndpsync/config.hpp"

namespace ndpsync::config_detail {

using nlohmann::json;

[[noreturn]] void fail(const std::string& path, const std::string& what);
std::string type_name(const json& value);
bool as_bool(const json& value, const std::string& path);
std::uint64_t as_uint(const json& value, const std::string& path, std::uint64_t min,
                      std::uint64_t max);
std::string as_string(const json& value, const std::string& path);
// An interface name or glob.
std::string as_interface_pattern(const json& value, const std::string& path);
Prefix as_prefix(const json& value, const std::string& path);
Ipv6Address as_address(const json& value, const std::string& path);
// An uplink named as an object's key: an interface name, not a glob.
void check_uplink_name(const std::string& name, const std::string& path);
// `path.key`: where a member of an object sits, for the errors.
std::string key_path(const std::string& path, const std::string& key);

template <typename T, typename F>
std::vector<T> as_list(const json& value, const std::string& path, F element) {
  if (!value.is_array()) fail(path, "expected a list, got " + type_name(value));
  std::vector<T> out;
  for (std::size_t i = 0; i < value.size(); ++i) {
    out.push_back(element(value[i], path + "[" + std::to_string(i) + "]"));
  }
  return out;
}

}  // namespace ndpsync::config_detail
