// Names are bytes: an interface called "bad\xff" must reach the status document, the metrics and
// every --json output as valid UTF-8 (U+FFFD for each invalid sequence, docs/status.md), and
// never abort the agent (nlohmann's dump() throws type_error 316 on invalid UTF-8).
#include "catch2_compat.hpp"

#include "agent_harness.hpp"
#include "ndpsync/metrics.hpp"
#include "ndpsync/utf8.hpp"

using namespace ndpsync;
using namespace ndpsync::testing;

namespace {

constexpr IfIndex kBad = 50;
const std::string kBadName = "bad\xff";
const std::string kShown = "bad\xEF\xBF\xBD";  // as the outside sees it

bool valid_utf8(const std::string& text) { return replace_invalid_utf8(text) == text; }

}  // namespace

TEST_CASE("utf8: invalid sequences become U+FFFD, valid text is unchanged") {
  struct Case {
    const char* description;
    std::string input;
    std::string expected;
  };
  const std::string r = "\xEF\xBF\xBD";
  const std::vector<Case> cases = {
      {.description = "ASCII", .input = "eth0", .expected = "eth0"},
      {.description = "two-, three- and four-byte sequences",
       .input = "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80",
       .expected = "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"},
      {.description = "a lone 0xff", .input = kBadName, .expected = kShown},
      {.description = "a lone continuation byte", .input = "a\x80z", .expected = "a" + r + "z"},
      {.description = "a truncated sequence at the end",
       .input = "a\xE2\x82",
       .expected = "a" + r + r},
      {.description = "an overlong '/'", .input = "\xC0\xAF", .expected = r + r},
      {.description = "a surrogate", .input = "\xED\xA0\x80", .expected = r + r + r},
      {.description = "above U+10FFFF", .input = "\xF4\x90\x80\x80", .expected = r + r + r + r},
  };
  for (const auto& c : cases) {
    INFO(c.description);
    CHECK(replace_invalid_utf8(c.input) == c.expected);
    CHECK(valid_utf8(replace_invalid_utf8(c.input)));
  }
}

TEST_CASE("utf8: json_text never throws and writes valid UTF-8") {
  const nlohmann::json value = {{"interface", kBadName}};
  CHECK_THROWS(value.dump());  // the default: what used to abort the agent
  const auto text = json_text(value);
  CHECK(valid_utf8(text));
  CHECK(nlohmann::json::parse(text)["interface"] == kShown);
  CHECK(json_text(value, 2).find('\n') != std::string::npos);
}

TEST_CASE("utf8: a downstream interface named bad\\xff: status and metrics stay valid") {
  AgentHarness h;
  h.kernel.add_link({.index = kBad, .name = kBadName, .kind = "veth", .up = true, .carrier = true});
  h.kernel.add_address(kBad, "2001:db8:0:1::5:1", 112);
  h.pump();
  REQUIRE(h.kernel.has_proxy(kEth0, "2001:db8:0:1::5:1"));
  std::string text;
  REQUIRE_NOTHROW(text = h.agent->status_text(h.now));
  CHECK(valid_utf8(text));
  const auto document = nlohmann::json::parse(text);
  bool listed = false;
  for (const auto& entry : document["entries"]) {
    listed = listed || (entry["address"] == "2001:db8:0:1::5:1" && entry["interface"] == kShown);
  }
  CHECK(listed);
  auto metrics = h.agent->metrics(h.now);
  metrics.entries[{kBadName, "address"}] = 1;  // a label value from a name
  const auto rendered = render_prometheus(metrics);
  CHECK(valid_utf8(rendered));
  CHECK(rendered.find("uplink=\"" + kShown + "\"") != std::string::npos);
}
