// The one table of config keys: name, type, default, meaning, and how each is read. Private to
// the core library.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "config_values.hpp"

namespace ndpsync::config_detail {

struct KeySpec {
  const char* name;
  const char* type;
  json initial;       // the default, as a config file would spell it
  const char* shown;  // the default for people, when the JSON says too little; nullptr: `initial`
  const char* meaning;
  std::function<void(Config&, const json&, const std::string&)> set;
};

const std::vector<KeySpec>& key_table();

}  // namespace ndpsync::config_detail
