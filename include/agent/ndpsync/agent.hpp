// The agent's state machine, free of I/O scheduling: the Asio loop (agent_loop.hpp) feeds it
// events and time, and it decides, writes through the KernelPort and reports. Unit tests drive
// it with the fake kernel and a hand-moved clock.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <vector>

#include "ndpsync/liveness.hpp"
#include "ndpsync/oneshot.hpp"
#include "ndpsync/report.hpp"

namespace ndpsync {

struct Counters {
  std::uint64_t events = 0;
  std::uint64_t reconciles = 0;
  std::uint64_t full_reconciles = 0;  // of those, the ones that judged every address
  std::uint64_t adds = 0;
  std::uint64_t removes = 0;
  std::uint64_t errors = 0;
  std::uint64_t resyncs = 0;
  std::uint64_t overruns = 0;
  std::uint64_t malformed = 0;  // event batches with a message we could not parse (re-read)
  std::uint64_t probes = 0;
  std::uint64_t uplink_probes = 0;  // of those, solicitations on an uplink before a first claim
  std::uint64_t withdrawals = 0;    // liveness verdicts
  std::uint64_t sysctl_repairs = 0;
  std::uint64_t reloads = 0;
  std::uint64_t capped = 0;  // addresses refused for a cap right now (a gauge)
};

enum class ResyncReason : std::uint8_t { kStart, kPeriodic, kOverrun, kMalformed, kReload };
std::string_view to_string(ResyncReason reason);

class AgentCore {
 public:
  using WallClock = std::function<std::chrono::system_clock::time_point()>;

  AgentCore(
      Config config, KernelPort& kernel,
      WallClock wall = [] { return std::chrono::system_clock::now(); });

  // Re-reads the whole kernel state, repairs drift and reconciles.
  Status resync(SteadyTime now, ResyncReason reason);
  // Applies a drained batch of events; call reconcile() once after it.
  void on_events(const std::vector<KernelEvent>& events, SteadyTime now);
  // A drained batch, start to end: applies the events, then reconciles; when events were lost
  // or not understood (`error` says which message), re-reads everything instead.
  void on_drained(const std::vector<KernelEvent>& events, EventSource::Drain result, SteadyTime now,
                  std::string_view error = {});
  // Decides and applies the difference. Cheap when nothing changed.
  void reconcile(SteadyTime now);
  // Liveness deadlines, re-probes and write retries that are due.
  void tick(SteadyTime now);
  // When tick() next has work; nullopt when nothing is pending (no idle wakeups).
  [[nodiscard]] std::optional<SteadyTime> next_wakeup() const;
  // A new config replaces the old one as a whole, then the table follows it.
  void reload(Config config, SteadyTime now);
  // On exit with remove_on_exit: withdraw every entry we own.
  void remove_owned();

  [[nodiscard]] nlohmann::json status(SteadyTime now) const;
  // The same document as text, built one entry at a time (what the status socket sends).
  [[nodiscard]] std::string status_text(SteadyTime now) const;
  [[nodiscard]] std::string summary() const;  // one line, for sd_notify STATUS=
  [[nodiscard]] const Counters& counters() const { return counters_; }
  [[nodiscard]] const Config& config() const { return config_; }
  [[nodiscard]] const Decision& decision() const { return decision_; }
  [[nodiscard]] const ObservedState& observed() const { return observed_; }
  [[nodiscard]] const Liveness& liveness() const { return liveness_; }

 private:
  struct Retry {
    std::string operation;
    unsigned attempts = 0;
    SteadyTime next;
    Status status;
  };

  bool is_tracked(const IfAddressKey& source) const;
  void suspect_bridge(IfIndex bridge, SteadyTime now, std::vector<IfAddressKey>& probe);
  void send_probes(const std::vector<IfAddressKey>& probe, SteadyTime now);
  void flush_probes(SteadyTime now);
  // False when the entry's first claim must wait for an uplink probe (started here).
  bool claim_cleared(const ProxyEntry& entry, SteadyTime now);
  void verify_orphans(SteadyTime now);
  void sync_sysctls(bool at_start);
  // Logs a warning for each configured uplink that is missing, when that set changes.
  void warn_missing_uplinks();
  void write(const ProxyEntry& entry, bool add, SteadyTime now);
  std::string removal_reason(const ProxyEntry& entry) const;
  void verify_unconfirmed(SteadyTime now);
  void log_refusals(SteadyTime now, const std::set<Ipv6Address>* only);
  void classify(const KernelEvent& event);
  [[nodiscard]] bool installed_ours(const IfAddressKey& key) const;
  void note_since(const IfAddressKey& key, std::uint32_t since);
  void carry_since(const std::map<IfAddressKey, Desired>& previous);
  [[nodiscard]] Names link_names() const;
  [[nodiscard]] nlohmann::json status_document(SteadyTime now, const Names& names) const;
  template <typename Visit>
  void for_each_entry(const Names& names, Visit&& visit) const;
  [[nodiscard]] std::vector<IfAddressKey> claimed_neighbours() const;

  Config config_;
  KernelPort& kernel_;
  WallClock wall_;
  ObservedState observed_;
  Decision decision_;
  Liveness liveness_;
  Memory memory_;
  std::map<IfAddressKey, Retry> retries_;  // keyed like entries: (uplink, address)
  std::vector<SysctlState> sysctls_;
  std::map<SysctlKey, std::string> first_found_;
  std::set<SysctlKey> settled_;  // keys that held our value at least once
  std::set<std::pair<IfIndex, std::string>> sysctl_uplinks_;
  std::vector<std::string> warned_missing_;  // missing uplinks warned about since the last resync
  std::set<Skipped> logged_skips_;
  std::optional<SteadyTime> last_cap_warning_;
  std::deque<IfAddressKey> probe_queue_;
  std::set<IfAddressKey> queued_probes_;
  std::optional<SteadyTime> next_probe_burst_;
  Counters counters_;
  std::set<Ipv6Address> touched_;  // addresses whose sources changed since the last reconcile
  // Of those, the ones an uplink neighbour event named.
  std::set<Ipv6Address> uplink_touched_;
  // `since` notes of installed entries policy does not want right now (normally none).
  std::map<IfAddressKey, std::uint32_t> parked_since_;
  // Entries kept by the first reconcile were adopted at start.
  bool reconciled_once_ = false;
  std::optional<SteadyTime> last_malformed_resync_;
  // First claims waiting for another node to answer on the uplink (uplink_probe): until when;
  // SteadyTime::max() while the solicitation is still queued.
  std::map<IfAddressKey, SteadyTime> claim_probes_;
  bool structural_ = true;  // something changed that needs a full decide
  std::chrono::system_clock::time_point started_;
  std::optional<std::chrono::system_clock::time_point> last_resync_;
};

}  // namespace ndpsync
