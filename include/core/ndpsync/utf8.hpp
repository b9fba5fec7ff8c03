// Text that leaves ndpsync as JSON or as Prometheus metrics must be UTF-8, but the kernel's names
// are bytes: an interface may be called "bad\xff" by any local admin. Each invalid sequence
// becomes U+FFFD, the replacement character, the same rule as nlohmann's
// error_handler_t::replace, so that a status document and a metrics label spell a name alike
// (docs/status.md, "Names that are not UTF-8").
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace ndpsync {

// `value` as JSON text; never throws on invalid UTF-8. indent < 0: one line.
std::string json_text(const nlohmann::json& value, int indent = -1);

// `text` with every invalid UTF-8 sequence replaced by U+FFFD; valid text comes back unchanged.
std::string replace_invalid_utf8(std::string_view text);

}  // namespace ndpsync
