// The Prometheus rendering (docs/metrics.md): the text format's rules, checked by a parser of
// our own; the snapshot from a status document; the agent's snapshot equal to the one its status
// document gives; the metrics file written atomically.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include "catch2_compat.hpp"

#include "lab.hpp"
#include "ndpsync/agent.hpp"
#include "ndpsync/metrics.hpp"
#include "ndpsync/metrics_file.hpp"

using namespace ndpsync;
using namespace ndpsync::testing;
using nlohmann::json;

namespace {

// A strict reader of the text exposition format (version 0.0.4), as far as we use it. Every
// sample's family must have had its HELP and then its TYPE line, once each; a family's samples
// are together; a counter's name ends in _total and a gauge's does not; a series appears once;
// label values are unescaped. Returns "series -> value", a series written as
// name{label="value",...} with the values unescaped. Fails the test on any breach.
std::map<std::string, double> parse_exposition(const std::string& text) {
  static const std::regex help_re(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+))");
  static const std::regex type_re(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge))");
  static const std::regex sample_re(R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+))");
  static const std::regex label_re(R"(([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\]|\\.)*)\"(,|$))");
  std::map<std::string, double> series;
  std::set<std::string> helped;
  std::set<std::string> typed;
  std::map<std::string, std::string> types;
  std::set<std::string> finished;  // families whose samples are behind us
  std::string current;
  REQUIRE(!text.empty());
  REQUIRE(text.back() == '\n');
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    INFO(line);
    std::smatch m;
    if (std::regex_match(line, m, help_re)) {
      REQUIRE(helped.insert(m[1].str()).second);
      if (!current.empty()) finished.insert(current);
      current = m[1].str();
      continue;
    }
    if (std::regex_match(line, m, type_re)) {
      REQUIRE(m[1].str() == current);
      REQUIRE(typed.insert(m[1].str()).second);
      types[m[1].str()] = m[2].str();
      const bool total = m[1].str().ends_with("_total");
      CHECK(total == (m[2] == "counter"));
      continue;
    }
    REQUIRE(std::regex_match(line, m, sample_re));
    const std::string name = m[1].str();
    REQUIRE(name == current);
    REQUIRE(typed.contains(name));
    REQUIRE_FALSE(finished.contains(name));
    std::string key = name;
    if (m[2].matched) {
      std::string labels = m[3].str();
      std::string unescaped;
      std::set<std::string> label_names;
      std::smatch lm;
      while (!labels.empty()) {
        REQUIRE(std::regex_search(labels, lm, label_re, std::regex_constants::match_continuous));
        REQUIRE(label_names.insert(lm[1].str()).second);
        std::string value;
        const std::string raw = lm[2].str();
        for (std::size_t i = 0; i < raw.size(); ++i) {
          if (raw[i] != '\\') {
            value += raw[i];
            continue;
          }
          ++i;
          REQUIRE(i < raw.size());
          REQUIRE((raw[i] == '\\' || raw[i] == '"' || raw[i] == 'n'));
          value += raw[i] == 'n' ? '\n' : raw[i];
        }
        unescaped += (unescaped.empty() ? "" : ",") + lm[1].str() + "=\"" + value + "\"";
        labels = lm.suffix().str();
      }
      key += "{" + unescaped + "}";
    }
    double value = 0;
    REQUIRE_NOTHROW(value = std::stod(m[4].str()));
    if (types[name] == "counter") CHECK(value >= 0);
    REQUIRE(series.emplace(key, value).second);
  }
  for (const auto& name : helped) {
    INFO(name);
    CHECK(typed.contains(name));
  }
  return series;
}

json full_document() {
  return json::parse(R"json({
    "schema": 1, "version": "0.1.0", "mode": "agent", "pid": 42,
    "started": "2026-01-01T00:00:00Z", "last_resync": "2026-01-01T00:01:00Z",
    "last_reconcile": "2026-01-01T00:01:01Z",
    "uplinks": [{"name": "eth0", "prefixes": []}, {"name": "eth1", "prefixes": []}],
    "missing_uplinks": ["eht2"],
    "entries": [
      {"address": "2001:db8::1", "uplink": "eth0", "source": "neighbour", "interface": "vc1"},
      {"address": "2001:db8::2", "uplink": "eth0", "source": "neighbour", "interface": "br0"},
      {"address": "2001:db8::3", "uplink": "eth0", "source": "address", "interface": "br0"}],
    "foreign": [{"address": "2001:db8::beef", "uplink": "eth0", "protocol": 0}],
    "skipped": [{"address": "2001:db8:1::1", "interface": "br0", "reason": "outside-prefix"},
                {"address": "2001:db8:1::2", "interface": "br0", "reason": "outside-prefix"},
                {"address": "fe80::1", "interface": "br0", "reason": "link-local"}],
    "verifying": [{"address": "2001:db8::1", "interface": "vc1"}],
    "withdrawn": [],
    "pending": [{"address": "2001:db8::4", "uplink": "eth0", "operation": "add"},
                {"address": "2001:db8::5", "uplink": "eth0", "operation": "add"}],
    "counters": {"events": 120, "reconciles": 7, "full_reconciles": 3, "adds": 5, "removes": 2,
                 "errors": 4, "write_errors": 3, "resyncs": 2, "overruns": 1, "malformed": 0,
                 "probes": 9, "uplink_probes": 0, "withdrawals": 1, "dad_probes_seen": 6,
                 "dad_probes_followed": 4, "dad_probes_ignored": 2,
                 "on_demand_solicitations": 20, "on_demand_probes": 8, "on_demand_refused": 3,
                 "on_demand_limited": 5, "on_demand_negative_hits": 2, "on_demand_repeats": 2,
                 "on_demand_forgiven": 1,
                 "on_demand_found": 5, "on_demand_not_found": 2, "on_demand_pending": 1,
                 "on_demand_negative": 5, "adverts_solicited": 5, "adverts_unsolicited": 3,
                 "advert_errors": 0, "sysctl_repairs": 0, "reloads": 0, "capped": 0,
                 "capped_mac": 0,

                 "packet_filter_updates": 3, "packet_pauses": 0, "packet_discarded": 0,
                 "packet_targets_unfiltered": 0}
  })json");
}

}  // namespace

TEST_CASE("metrics: a full status document renders valid text with every documented family") {
  const auto text = render_prometheus(metrics_from_status(full_document()));
  const auto s = parse_exposition(text);
  CHECK(s.at("ndpsync_up") == 1);
  CHECK(s.at("ndpsync_build_info{version=\"0.1.0\"}") == 1);
  CHECK(s.at("ndpsync_start_time_seconds") == 1767225600);
  CHECK(s.at("ndpsync_last_resync_timestamp_seconds") == 1767225660);
  CHECK(s.at("ndpsync_last_reconcile_timestamp_seconds") == 1767225661);
  CHECK(s.at("ndpsync_entries{uplink=\"eth0\",source=\"neighbour\"}") == 2);
  CHECK(s.at("ndpsync_entries{uplink=\"eth0\",source=\"address\"}") == 1);
  // An uplink without entries still has its series, at zero: "no entries" is something to see.
  CHECK(s.at("ndpsync_entries{uplink=\"eth1\",source=\"neighbour\"}") == 0);
  CHECK(s.at("ndpsync_entries{uplink=\"eth1\",source=\"address\"}") == 0);
  CHECK(s.at("ndpsync_entries{uplink=\"eth1\",source=\"route\"}") == 0);
  CHECK(s.at("ndpsync_entries{uplink=\"eth0\",source=\"static\"}") == 0);
  CHECK(s.at("ndpsync_skipped_addresses{reason=\"outside-prefix\"}") == 2);
  CHECK(s.at("ndpsync_skipped_addresses{reason=\"link-local\"}") == 1);
  CHECK(s.at("ndpsync_skipped_addresses{reason=\"cap\"}") == 0);  // every reason, zero or not
  CHECK(s.at("ndpsync_skipped_addresses{reason=\"foreign\"}") == 0);
  CHECK(s.at("ndpsync_foreign_entries") == 1);
  CHECK(s.at("ndpsync_missing_uplinks") == 1);
  CHECK(s.at("ndpsync_verifying_neighbours") == 1);
  CHECK(s.at("ndpsync_withdrawn_neighbours") == 0);
  CHECK(s.at("ndpsync_pending_writes") == 2);
  CHECK(s.at("ndpsync_events_total") == 120);
  CHECK(s.at("ndpsync_kernel_writes_total{operation=\"add\"}") == 5);
  CHECK(s.at("ndpsync_kernel_writes_total{operation=\"delete\"}") == 2);
  CHECK(s.at("ndpsync_kernel_write_failures_total") == 3);
  CHECK(s.at("ndpsync_errors_total") == 4);
  CHECK(s.at("ndpsync_resyncs_total") == 2);
  CHECK(s.at("ndpsync_overruns_total") == 1);
  CHECK(s.at("ndpsync_malformed_batches_total") == 0);
  CHECK(s.at("ndpsync_probes_total") == 9);
  CHECK(s.at("ndpsync_withdrawals_total") == 1);
  CHECK(s.at("ndpsync_dad_probes_total{outcome=\"followed\"}") == 4);
  CHECK(s.at("ndpsync_dad_probes_total{outcome=\"ignored\"}") == 2);
  CHECK(s.at("ndpsync_on_demand_solicitations_total") == 20);
  CHECK(s.at("ndpsync_on_demand_total{outcome=\"probed\"}") == 8);
  CHECK(s.at("ndpsync_on_demand_total{outcome=\"refused\"}") == 3);
  CHECK(s.at("ndpsync_on_demand_total{outcome=\"limited\"}") == 5);
  CHECK(s.at("ndpsync_on_demand_total{outcome=\"negative_cached\"}") == 2);
  CHECK(s.at("ndpsync_on_demand_total{outcome=\"already_probing\"}") == 2);
  CHECK(s.at("ndpsync_on_demand_probes_total{result=\"found\"}") == 5);
  CHECK(s.at("ndpsync_on_demand_probes_total{result=\"not_found\"}") == 2);
  CHECK(s.at("ndpsync_on_demand_pending") == 1);
  CHECK(s.at("ndpsync_on_demand_negative_cached") == 5);
  CHECK(s.at("ndpsync_adverts_total{kind=\"solicited\"}") == 5);
  CHECK(s.at("ndpsync_adverts_total{kind=\"unsolicited\"}") == 3);
  CHECK(s.at("ndpsync_advert_failures_total") == 0);
  CHECK(s.at("ndpsync_capped_addresses") == 0);
  CHECK(s.at("ndpsync_capped_mac_addresses") == 0);
  CHECK(s.at("ndpsync_skipped_addresses{reason=\"cap-mac\"}") == 0);
  CHECK(s.at("ndpsync_packet_filter_updates_total") == 3);
  CHECK(s.at("ndpsync_packet_targets_unfiltered") == 0);
  // Every counter of the document has its metric.
  CHECK(s.at("ndpsync_on_demand_forgiven_total") == 1);
  CHECK(s.size() == 69);  // with four entry series (one per source) for each of two uplinks
}

TEST_CASE("metrics: label values and help text are escaped") {
  MetricsSnapshot m;
  m.version = "1.0 \"beta\"\\x\ny";
  m.uplinks = {"we\"ird\\na\nme"};
  const auto text = render_prometheus(m);
  CHECK(text.find("version=\"1.0 \\\"beta\\\"\\\\x\\ny\"") != std::string::npos);
  const auto s = parse_exposition(text);  // and the parser reads the original values back
  CHECK(s.at("ndpsync_build_info{version=\"1.0 \"beta\"\\x\ny\"}") == 1);
  CHECK(s.at("ndpsync_entries{uplink=\"we\"ird\\na\nme\",source=\"address\"}") == 0);
  // No line but the samples' own: a newline in a value never starts a line.
  for (std::size_t at = 0; (at = text.find('\n', at)) != std::string::npos && at + 1 < text.size();
       ++at) {
    const char next = text[at + 1];
    CHECK((next == '#' || next == 'n'));
  }
}

TEST_CASE("metrics: a document of another version is read for what it has, never guessed") {
  for (const auto& document :
       {json(nullptr), json::array(), json::object(),
        json::parse(R"({"version": 2, "started": "yesterday", "uplinks": [{"name": 5}, "eth0"],
                        "entries": 3, "skipped": [{}], "counters": {"events": -1,
                        "adds": "many", "resyncs": 4, "new_counter": 1}})")}) {
    INFO(document.dump());
    const auto m = metrics_from_status(document);
    const auto s = parse_exposition(render_prometheus(m));
    CHECK(s.at("ndpsync_up") == 1);
    CHECK_FALSE(s.contains("ndpsync_start_time_seconds"));
    CHECK_FALSE(s.contains("ndpsync_events_total"));
    CHECK_FALSE(s.contains("ndpsync_kernel_writes_total{operation=\"add\"}"));
  }
  const auto odd = metrics_from_status(json::parse(
      R"({"counters": {"resyncs": 4, "new_counter": 1}, "skipped": [{"reason": "new-reason"}]})"));
  const auto s = parse_exposition(render_prometheus(odd));
  CHECK(s.at("ndpsync_resyncs_total") == 4);
  CHECK(s.at("ndpsync_skipped_addresses{reason=\"new-reason\"}") == 1);
  CHECK(s.size() == parse_exposition(render_prometheus(MetricsSnapshot{})).size() + 2);
}

TEST_CASE("metrics: a stopped agent's file says so") {
  MetricsSnapshot m = metrics_from_status(full_document());
  m.up = false;
  CHECK(parse_exposition(render_prometheus(m)).at("ndpsync_up") == 0);
}

TEST_CASE("metrics: ISO times from the status document") {
  CHECK(parse_iso_time("1970-01-01T00:00:00Z") == 0);
  CHECK(parse_iso_time("2026-01-01T00:00:00Z") == 1767225600);
  CHECK_FALSE(parse_iso_time("2026-01-01 00:00:00"));
  CHECK_FALSE(parse_iso_time("2026-01-01T00:00:00Z trailing"));
  CHECK_FALSE(parse_iso_time(""));
}

TEST_CASE("metrics: the agent's snapshot is the one its status document gives") {
  FakeKernel kernel;
  build_lab(kernel);
  kernel.put_proxy(kEth0, "2001:db8:0:1::beef", 0);  // the admin's
  auto wall = std::chrono::system_clock::from_time_t(1767225600);
  AgentCore agent(Config{}, kernel, [&] { return wall; });
  const SteadyTime now{};
  agent.resync(now, ResyncReason::kStart);
  // A write that fails: pending, and the last good reconcile stays where it was.
  wall += std::chrono::seconds(10);
  kernel.fail_add.insert(ip("2001:db8:0:1::2:7"));
  kernel.set_neighbour(kBr0, "2001:db8:0:1::2:7", kNudReachable);
  std::vector<KernelEvent> batch;
  kernel.drain(batch);
  agent.on_events(batch, now);
  agent.reconcile(now);

  const auto direct = agent.metrics(now);
  CHECK(direct == metrics_from_status(agent.status(now)));
  CHECK(render_prometheus(direct) == render_prometheus(metrics_from_status(agent.status(now))));
  const auto s = parse_exposition(render_prometheus(direct));
  CHECK(s.at("ndpsync_entries{uplink=\"eth0\",source=\"address\"}") == 2);
  CHECK(s.at("ndpsync_entries{uplink=\"eth0\",source=\"neighbour\"}") == 3);
  CHECK(s.at("ndpsync_foreign_entries") == 1);
  CHECK(s.at("ndpsync_pending_writes") == 1);
  CHECK(s.at("ndpsync_kernel_write_failures_total") == 1);
  CHECK(s.at("ndpsync_last_reconcile_timestamp_seconds") == 1767225600);
  CHECK(s.at("ndpsync_start_time_seconds") == 1767225600);

  // The retry succeeds: the table matches the decision again, now.
  kernel.fail_add.clear();
  wall += std::chrono::seconds(5);
  agent.tick(now + std::chrono::seconds(1));
  const auto after = parse_exposition(render_prometheus(agent.metrics(now)));
  CHECK(after.at("ndpsync_pending_writes") == 0);
  CHECK(after.at("ndpsync_entries{uplink=\"eth0\",source=\"neighbour\"}") == 4);
  CHECK(after.at("ndpsync_last_reconcile_timestamp_seconds") == 1767225615);
}

TEST_CASE("metrics file: replaced atomically, readable by others, no temporary file left") {
  const auto dir =
      std::filesystem::temp_directory_path() / ("ndpsync-metrics-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto path = (dir / "ndpsync.prom").string();
  const auto old_mask = ::umask(077);
  const auto first = write_file_atomically(path, "a 1\n");
  const auto second = write_file_atomically(path, "b 2\n");
  ::umask(old_mask);
  CHECK(first.ok());
  CHECK(second.ok());
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  CHECK(content.str() == "b 2\n");
  struct stat st = {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0644);
  CHECK(std::distance(std::filesystem::directory_iterator(dir),
                      std::filesystem::directory_iterator()) == 1);

  const auto missing = (dir / "no-such-dir" / "ndpsync.prom").string();
  const auto failed = write_file_atomically(missing, "c 3\n");
  CHECK_FALSE(failed.ok());
  CHECK(failed.message.find(missing) != std::string::npos);
  CHECK(failed.message.find("ENOENT") != std::string::npos);
  // A directory in the way: the rename fails, and the temporary file is cleaned up.
  std::filesystem::create_directories(dir / "taken.prom");
  const auto blocked = write_file_atomically((dir / "taken.prom").string(), "d 4\n");
  CHECK_FALSE(blocked.ok());
  CHECK(blocked.message.find("rename") != std::string::npos);
  CHECK(std::distance(std::filesystem::directory_iterator(dir),
                      std::filesystem::directory_iterator()) == 2);
  std::filesystem::remove_all(dir);
}

TEST_CASE("metrics: docs/metrics.md lists exactly the families the renderer prints") {
  std::set<std::string> rendered;
  std::istringstream text(render_prometheus(metrics_from_status(full_document())));
  std::string line;
  while (std::getline(text, line)) {
    if (line.starts_with("# TYPE ")) rendered.insert(line.substr(7, line.find(' ', 7) - 7));
  }
  std::ifstream doc(std::string(NDPSYNC_SOURCE_DIR) + "/docs/metrics.md");
  REQUIRE(doc);
  std::set<std::string> documented;
  static const std::regex row(R"(\| `(ndpsync_[a-z_]+)` \| (gauge|counter) \|.*)");
  while (std::getline(doc, line)) {
    std::smatch m;
    if (std::regex_match(line, m, row)) documented.insert(m[1].str());
  }
  CHECK(rendered == documented);
}
