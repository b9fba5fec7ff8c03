// `ndpsync status` in text: safe for any document an agent of another version may send.
#include <sstream>
#include "catch2_compat.hpp"

#include "status_text.hpp"

using ndpsync::cli::print_status;
using nlohmann::json;

namespace {

std::string render(const json& document) {
  std::ostringstream out;
  print_status(document, out);
  return out.str();
}

bool has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

json full_document() {
  return json::parse(R"json({
    "schema": 1, "version": "0.1.0", "mode": "agent", "pid": 42,
    "started": "2026-01-01T00:00:00Z", "last_resync": "2026-01-01T00:01:00Z",
    "owner_protocol": 176,
    "uplinks": [{"name": "eth0", "ifindex": 2, "prefixes": ["2001:db8:0:1::/64"], "held": false,
                 "sysctls": [{"key": "net.ipv6.conf.eth0.accept_ra", "found": "1", "set": "2"}]}],
    "missing_uplinks": ["eht1"],
    "sysctls": [{"key": "net.ipv6.conf.all.forwarding", "found": "0", "set": "1"}],
    "downstream": ["vc1", "br0"],
    "entries": [{"address": "2001:db8:0:1::1:2", "uplink": "eth0", "source": "neighbour",
                 "interface": "vc1", "since": "2026-01-01T00:00:01Z", "verifying": true}],
    "foreign": [{"address": "2001:db8:0:1::beef", "uplink": "eth0", "protocol": 0}],
    "skipped": [{"address": "2001:db8:0:1::dead", "interface": "br0", "reason": "denied"},
                {"address": "fe80::1", "interface": "br0", "reason": "link-local"}],
    "verifying": [{"address": "2001:db8:0:1::1:2", "interface": "vc1", "probes": 1,
                   "deadline_in_s": 3.0}],
    "withdrawn": [{"address": "2001:db8:0:1::2:9", "interface": "br0"}],
    "pending": [{"address": "2001:db8:0:1::2:2", "uplink": "eth0", "operation": "add",
                 "attempts": 2, "retry_in_s": 1.5, "error": "EPERM (Operation not permitted)"}],
    "counters": {"events": 7, "adds": 1}
  })json");
}

}  // namespace

TEST_CASE("status text: the full document, with the fields the text form used to leave out") {
  const auto text = render(full_document());
  CHECK(has(text, "ndpsync 0.1.0 agent, pid 42, started 2026-01-01T00:00:00Z"));
  CHECK(has(text, "owner protocol 176"));
  CHECK(has(text, "uplink eth0: 2001:db8:0:1::/64\n"));
  CHECK(has(text, "  net.ipv6.conf.eth0.accept_ra = 1 -> 2\n"));
  CHECK(has(text, "  net.ipv6.conf.all.forwarding = 0 -> 1\n"));
  CHECK(has(text, "uplink eht1: configured but not present"));
  CHECK(has(text, "downstream: vc1 br0\n"));
  CHECK(has(text,
            "entries (1):\n  2001:db8:0:1::1:2 on eth0  (neighbour on vc1, since "
            "2026-01-01T00:00:01Z, verifying)\n"));
  CHECK(has(text, "foreign 2001:db8:0:1::beef on eth0 (proto 0)"));
  CHECK(has(text, "skipped 2001:db8:0:1::dead on br0: denied"));
  CHECK_FALSE(has(text, "fe80::1"));
  CHECK(has(text, "verifying 2001:db8:0:1::1:2 on vc1"));
  CHECK(has(text, "withdrawn 2001:db8:0:1::2:9 on br0"));
  CHECK(has(text, "pending add 2001:db8:0:1::2:2: EPERM (Operation not permitted)"));
  CHECK(has(text, "counters: adds=1 events=7\n"));
}

TEST_CASE("status text: every key missing, one at a time and all at once") {
  const auto full = full_document();
  for (const auto& [key, value] : full.items()) {
    INFO(key);
    auto document = full;
    document.erase(key);
    CHECK_NOTHROW(render(document));
  }
  const auto text = render(json::object());
  CHECK(has(text, "ndpsync ? agent, pid ?, started ?, last resync ?, owner protocol ?"));
  CHECK(has(text, "entries (0):"));
  CHECK(has(text, "counters:\n"));
}

TEST_CASE("status text: wrong types are shown as they are, never trusted") {
  const json wrong[] = {
      json::array(),
      json("a string"),
      json(nullptr),
      json::parse(R"({"uplinks": "eth0", "entries": {"a": 1}, "counters": [1, 2],
                      "missing_uplinks": 7, "withdrawn": [1, "x", null]})"),
      json::parse(R"({"uplinks": [{"name": 5, "prefixes": "p", "held": "yes", "sysctls": [3]}],
                      "entries": [{"address": ["x"], "since": 5, "verifying": "no"}],
                      "sysctls": [{"key": null, "found": 1, "set": false}],
                      "pid": "many", "owner_protocol": {"x": 1}})"),
  };
  for (const auto& document : wrong) {
    INFO(document.dump());
    CHECK_NOTHROW(render(document));
  }
  const auto text = render(wrong[4]);
  CHECK(has(text, "uplink 5:\n"));  // no prefixes from a string, "held" only when true
  CHECK(has(text, "  ? = 1 -> false\n"));
  CHECK(has(text, "  [\"x\"] on ?  (? on ?, since 5)\n"));
  CHECK(has(text, "pid many"));
}
