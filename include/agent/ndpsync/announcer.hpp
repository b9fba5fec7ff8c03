// What the agent says to the routers on its uplinks, and on-demand discovery, the one thing it
// says it for: the advert port (not owned), the all-multicast references that let the routers'
// solicitations in, Discovery (which solicitations are probed downstream, within its limits), the
// answers to them, and the override adverts of first claims (unsolicited_na: asked first, by
// OverrideCheck) with their rate limit. Time and the kernel's tables come in as parameters; the
// kernel is reached through NeighbourPort (probes and deletions of neighbour entries) and the
// AdvertPort. AgentCore tells it when an entry went in and when its time comes.
// docs/design.md, "On-demand discovery" and "Unsolicited advertisements".
#pragma once

#include <chrono>
#include <optional>
#include <set>
#include <vector>

#include "ndpsync/decision_engine.hpp"
#include "ndpsync/discovery.hpp"
#include "ndpsync/kernel_port.hpp"
#include "ndpsync/override_check.hpp"
#include "ndpsync/solicitation_port.hpp"

namespace ndpsync {

struct AnnouncerCounters {
  // Solicitations on an uplink before an override advert (they count as uplink probes).
  std::uint64_t asks = 0;
  std::uint64_t adverts_unsolicited = 0;
  std::uint64_t adverts_withheld = 0;  // another node on the uplink kept answering
  std::uint64_t advert_errors = 0;     // solicited or not
};

// What an entry that went in is to the routers. A first claim after the start's pass is news:
// announced with unsolicited_na. A re-add (the ledger knows it) or a claim of the start's pass
// (a restart would announce every container again) is not.
enum class Claim : std::uint8_t { kNews, kKnown };

class Announcer {
 public:
  // Unsolicited adverts at most this many a second: a burst of new containers is a burst of
  // claims; the adverts beyond it are skipped (the routers resolve those addresses as they
  // always did).
  static constexpr unsigned kPerSecond = 100;

  explicit Announcer(NeighbourPort& kernel) : kernel_(kernel) {}

  // Where adverts leave, and what holds the all-multicast references; nullptr: none.
  void set_port(AdvertPort* adverts) { adverts_ = adverts; }
  // The config's keys for it: on_demand (off: the all-multicast references go at once),
  // on_demand_rate, unsolicited_na, uplink_probe_ms.
  void configure(const Config& config);

  // Solicitations seen on the host's interfaces (on_demand): those on an uplink, for an
  // address in its prefixes that nobody claims and that the engine would let its neighbour win,
  // are probed downstream, within Discovery's limits.
  void on_solicitations(const std::vector<Solicitation>& batch, const DecisionEngine& engine,
                        const ObservedState& observed, const Config& config, SteadyTime now);
  // `entry` went in: the routers that asked for it get their answer now; news is announced.
  void entry_added(const ProxyEntry& entry, Claim claim, const ObservedState& observed,
                   SteadyTime now);
  // Link `index` changed: on-demand misses there say nothing now (Discovery::link_changed).
  void link_changed(IfIndex index, SteadyTime now) { discovery_.link_changed(index, now); }
  // Probes nobody answered in time: their neighbour entries downstream go.
  void expire(SteadyTime now, const ObservedState& observed);
  // The override checks' steps that are due: ask the uplink, announce, or withhold.
  void announce(SteadyTime now, const ObservedState& observed, const Decision& decision);
  // An all-multicast reference on each uplink (with on_demand); let go where one stopped being
  // an uplink. Call on every full pass: an uplink may be re-created.
  void keep_allmulti(const Decision& decision);
  void release_allmulti();

  [[nodiscard]] std::optional<SteadyTime> next_wakeup() const;
  [[nodiscard]] const Discovery& discovery() const { return discovery_; }
  [[nodiscard]] const AnnouncerCounters& counters() const { return counters_; }

 private:
  void answer(Advert advert, const std::vector<Solicitation>& solicitors);
  void ask(const IfAddressKey& key, const ObservedState& observed);
  void send_override(const IfAddressKey& key, const ObservedState& observed, SteadyTime now);
  [[nodiscard]] bool admit(SteadyTime now);

  NeighbourPort& kernel_;
  AdvertPort* adverts_ = nullptr;
  bool on_demand_ = false;
  bool unsolicited_na_ = false;
  bool uplink_probe_ = false;  // first claims waited for the uplink's answer already
  Discovery discovery_;
  OverrideCheck checks_;
  AnnouncerCounters counters_;
  std::set<IfIndex> allmulti_;  // uplinks holding the agent's all-multicast reference
  SteadyTime second_;           // the adverts' rate: this second's start, and its count
  unsigned this_second_ = 0;
};

}  // namespace ndpsync
