// The agent's orchestration, free of I/O scheduling: the Asio loop (agent_loop.hpp) feeds it
// events and time. It applies events to the observed state, asks the decision engine what is
// wanted, and hands the difference to its rooms: the writer (proxy table), the prober (liveness,
// the uplink-probe gate, DAD follow-ups), the announcer (adverts and on-demand discovery) and
// the sysctl keeper. The status view reads them all. Unit tests
// drive it with the fake kernel and a hand-moved clock. docs/design.md has the map.
#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <vector>

#include "ndpsync/announcer.hpp"
#include "ndpsync/dad_port.hpp"
#include "ndpsync/decision_engine.hpp"
#include "ndpsync/listener_filters.hpp"
#include "ndpsync/prober.hpp"
#include "ndpsync/proxy_writer.hpp"
#include "ndpsync/reconcile.hpp"
#include "ndpsync/refusal_log.hpp"
#include "ndpsync/solicitation_port.hpp"
#include "ndpsync/status_view.hpp"
#include "ndpsync/sysctl_keeper.hpp"

namespace ndpsync {

enum class ResyncReason : std::uint8_t { kStart, kPeriodic, kOverrun, kMalformed, kReload };
std::string_view to_string(ResyncReason reason);

class AgentCore {
 public:
  using WallClock = std::function<WallTime()>;

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
  // DAD probes seen on the host's interfaces (dad_snooping): those on downstream interfaces for
  // an address the guards would admit are followed up by the prober once their DAD time is over.
  void on_dad_probes(const std::vector<DadProbe>& probes, SteadyTime now) {
    prober_.on_dad_probes(probes, engine_, observed_, config_, now);
  }
  // Solicitations seen on the host's interfaces (on_demand): those on an uplink for an address
  // in its prefixes that nobody proxies are probed downstream, within the limits; a node that
  // answers gets its entry, and the solicitor a solicited advertisement once it is in.
  void on_solicitations(const std::vector<Solicitation>& batch, SteadyTime now) {
    announcer_.on_solicitations(batch, engine_, observed_, config_, now);
  }
  // Where adverts leave (solicited answers, unsolicited_na), and what holds the uplinks'
  // all-multicast references; nullptr (the default): none. Not owned.
  void set_advert_port(AdvertPort* adverts) { announcer_.set_port(adverts); }
  // The packet listeners whose kernel-side filters follow the decision: the DAD listener's to
  // the downstream interfaces, the solicitation listener's to the uplinks, minus the targets
  // the kernel answers itself. Either may be nullptr. Not owned.
  void set_packet_sockets(FilteredSocket* dad, FilteredSocket* solicitations) {
    listeners_.set_sockets(dad, solicitations);
  }
  // A listener spent its budget and drops everything for the rest of its window (the loop's
  // rate limit); `discarded` packets were read away unjudged.
  void note_packet_pause(std::size_t discarded) { listeners_.note_pause(discarded); }
  // Lets go of the uplinks' all-multicast references (on exit the kernel would anyway).
  void release_allmulti() { announcer_.release_allmulti(); }
  // Decides and applies the difference. Cheap when nothing changed.
  void reconcile(SteadyTime now);
  // Liveness deadlines, re-probes and write retries that are due.
  void tick(SteadyTime now);
  // When tick() next has work; nullopt when nothing is pending (no idle wakeups).
  [[nodiscard]] std::optional<SteadyTime> next_wakeup() const;
  // A new config replaces the old one as a whole, then the table follows it.
  void reload(Config config, SteadyTime now);
  // On exit with remove_on_exit: withdraw every entry we own.
  void remove_owned(SteadyTime now);

  [[nodiscard]] nlohmann::json status(SteadyTime now) const;
  // The same document as text, built one entry at a time (what the status socket sends).
  [[nodiscard]] std::string status_text(SteadyTime now) const;
  [[nodiscard]] std::string summary() const;  // one line, for sd_notify STATUS=
  // The status as metrics (docs/metrics.md): what `status --prometheus` shows.
  [[nodiscard]] MetricsSnapshot metrics(SteadyTime now) const;
  [[nodiscard]] Counters counters() const;
  [[nodiscard]] const Config& config() const { return config_; }
  [[nodiscard]] const Decision& decision() const { return engine_.decision(); }
  [[nodiscard]] const ObservedState& observed() const { return observed_; }
  [[nodiscard]] const Liveness& liveness() const { return prober_.liveness(); }

 private:
  void decide(Scope& scope);
  void apply(const Plan& plan, SteadyTime now);
  void write(const ProxyEntry& entry, WriteOp op, SteadyTime now);
  void adopt(const Plan& plan);
  [[nodiscard]] StatusView view() const;
  void on_overrun(SteadyTime now);

  Config config_;
  KernelPort& kernel_;
  WallClock wall_;
  ObservedState observed_;
  DecisionEngine engine_;
  Memory memory_;
  ProxyWriter writer_;
  Prober prober_;
  SysctlKeeper keeper_;
  Announcer announcer_;
  RefusalLog refusals_;
  Counters counters_;              // the orchestration's own; the rooms count the rest
  std::set<Ipv6Address> touched_;  // addresses whose sources changed since the last reconcile
  bool structural_ = true;         // something changed that needs a full pass
  // The start's reconcile pass is done: adoptions from now on are dated now, and first claims
  // are news (announced).
  bool first_pass_done_ = false;
  std::optional<SteadyTime> last_malformed_resync_;
  std::optional<SteadyTime> last_overrun_resync_;
  std::optional<SteadyTime> resync_owed_;  // an overrun's re-read, deferred by the gap
  ListenerFilters listeners_;
  WallTime started_;
  std::optional<WallTime> last_resync_;
  std::optional<WallTime> last_reconcile_;  // a reconcile left nothing pending
};

}  // namespace ndpsync
