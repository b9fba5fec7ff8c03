// The readers of config_values.hpp.
#include "config_values.hpp"

namespace ndpsync::config_detail {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw ConfigError("config key '" + path + "': " + what);
}

std::string type_name(const json& value) { return value.type_name(); }

bool as_bool(const json& value, const std::string& path) {
  if (!value.is_boolean()) fail(path, "expected true or false, got " + type_name(value));
  return value.get<bool>();
}

std::uint64_t as_uint(const json& value, const std::string& path, std::uint64_t min,
                      std::uint64_t max) {
  if (!value.is_number_integer()) fail(path, "expected an integer, got " + type_name(value));
  if (value.is_number_integer() && !value.is_number_unsigned() && value.get<std::int64_t>() < 0) {
    fail(path, "must be at least " + std::to_string(min));
  }
  const auto number = value.get<std::uint64_t>();
  if (number < min || number > max) {
    fail(path, "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " +
                   std::to_string(number));
  }
  return number;
}

std::string as_string(const json& value, const std::string& path) {
  if (!value.is_string()) fail(path, "expected a string, got " + type_name(value));
  return value.get<std::string>();
}

std::string as_interface_pattern(const json& value, const std::string& path) {
  auto name = as_string(value, path);
  // IFNAMSIZ - 1; a glob may be longer only through '*', which we still cap for sanity.
  if (name.empty() || name.size() > 64 || name.find('/') != std::string::npos) {
    fail(path, "not an interface name or glob: '" + name + "'");
  }
  return name;
}

Prefix as_prefix(const json& value, const std::string& path) {
  const auto text = as_string(value, path);
  const auto prefix = Prefix::parse(text);
  if (!prefix) fail(path, "not an IPv6 prefix (ADDR/LEN): '" + text + "'");
  return *prefix;
}

Ipv6Address as_address(const json& value, const std::string& path) {
  const auto text = as_string(value, path);
  const auto address = Ipv6Address::parse(text);
  if (!address) fail(path, "not an IPv6 address: '" + text + "'");
  return *address;
}

void check_uplink_name(const std::string& name, const std::string& path) {
  as_interface_pattern(json(name), path);
  if (name.find_first_of("*?[") != std::string::npos) {
    fail(path, "an uplink's name, not a glob: '" + name + "'");
  }
}

std::string key_path(const std::string& path, const std::string& key) {
  std::string out = path;
  out += '.';
  out += key;
  return out;
}

}  // namespace ndpsync::config_detail
