// The prober: everything the agent asks the kernel to resolve. It owns liveness (verifying
// neighbours that may have left), the pacing of the probes that serve it, and the uplink-probe
// gate (with uplink_probe_ms, a first claim waits until the kernel has solicited the address on the
// uplink and nobody answered), and the follow-ups of DAD probes (dad_snooping: once a new
// address's DAD time is over, the kernel resolves it on the interface it was probed on).
// On-demand discovery's probes are the Announcer's (announcer.hpp): they have limits of their own.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "ndpsync/dad_port.hpp"
#include "ndpsync/decision_engine.hpp"
#include "ndpsync/kernel_port.hpp"
#include "ndpsync/liveness.hpp"

namespace ndpsync {

struct ProberCounters {
  std::uint64_t probes = 0;
  // Of those, solicitations on an uplink before a first claim (uplink_probe's).
  std::uint64_t uplink_probes = 0;
  std::uint64_t withdrawals = 0;  // liveness verdicts
  // DAD probes on downstream interfaces: seen = followed + ignored (refused by the guards,
  // already pending, or over the cap of pending follow-ups).
  std::uint64_t dad_probes_seen = 0;
  std::uint64_t dad_probes_followed = 0;
  std::uint64_t dad_probes_ignored = 0;
};

// At most this many DAD follow-ups wait at once: a container that floods DAD probes cannot make
// the host probe without bound (each probe may create a neighbour entry; gc_thresh3 is shared).
constexpr std::size_t kMaxDadFollowUps = 256;

class Prober {
 public:
  Prober(NeighbourPort& kernel, std::chrono::milliseconds liveness_timeout,
         std::chrono::milliseconds uplink_probe, std::chrono::milliseconds dad_delay);

  void set_timeouts(std::chrono::milliseconds liveness_timeout,
                    std::chrono::milliseconds uplink_probe, std::chrono::milliseconds dad_delay);

  // --- liveness: each returns true when the verdicts changed; the probes they need are queued
  // until send() ---
  // A neighbour we claim (or verify) changed state, or vanished (nullopt).
  bool observe(const IfAddressKey& key, std::optional<NudState> state, SteadyTime now);
  // Something suggests a claimed neighbour left although the kernel still trusts it.
  void suspect(const IfAddressKey& key, SteadyTime now);
  void forget(const IfAddressKey& key) { liveness_.forget(key); }
  void forget_interface(IfIndex index) { liveness_.forget_interface(index); }
  // Sends the next burst of queued probes, unless the last burst was too recent.
  void send(SteadyTime now);
  // Deadlines, re-probes and the next burst of queued probes.
  bool tick(SteadyTime now);

  // --- the uplink-probe gate ---
  // True when the first claim of `key` may go ahead: the gate is off, or the address was
  // solicited on the uplink and the wait is over. Otherwise starts (or continues) the wait.
  bool claim_cleared(const IfAddressKey& key, std::string_view uplink, SteadyTime now);
  // Waits for claims that are no longer wanted or already installed are moot.
  template <typename Moot>
  void drop_claims(Moot&& moot) {
    std::erase_if(claim_waits_, [&](const auto& item) { return moot(item.first); });
  }
  // True while the first claim of `key` waits at the gate.
  [[nodiscard]] bool waiting(const IfAddressKey& key) const { return claim_waits_.contains(key); }
  // Addresses whose claim wait is over.
  void due(SteadyTime now, std::set<Ipv6Address>& addresses) const;
  // A downstream neighbour (`key`) that an uplink's claim keeps from its address: the kernel
  // resolves it, and its answer (REACHABLE) verifies it (agent_verify.hpp, verify_contested).
  void verify_holder(const IfAddressKey& key, SteadyTime now);

  // --- DAD snooping ---
  // DAD probes seen on the host's interfaces (dad_snooping): those on downstream interfaces for
  // an address the engine's guards would let the neighbour win are followed up.
  void on_dad_probes(const std::vector<DadProbe>& probes, const DecisionEngine& engine,
                     const ObservedState& observed, const Config& config, SteadyTime now);
  // A DAD probe for `key.second` on `key.first` that the guards admit: the address is probed
  // there once the DAD time (`dad_delay`) is over. False (ignored) while a follow-up for the
  // address is already pending, or kMaxDadFollowUps are.
  bool follow_dad(const IfAddressKey& key, SteadyTime now);
  // A DAD probe the guards refused.
  void ignore_dad() {
    ++counters_.dad_probes_seen;
    ++counters_.dad_probes_ignored;
  }
  [[nodiscard]] std::size_t dad_pending() const { return dad_waits_.size(); }

  [[nodiscard]] std::optional<SteadyTime> next_wakeup() const;
  [[nodiscard]] const Liveness& liveness() const { return liveness_; }
  [[nodiscard]] const ProberCounters& counters() const { return counters_; }

 private:
  void enqueue(const std::vector<IfAddressKey>& probe);
  void flush(SteadyTime now);

  NeighbourPort& kernel_;
  Liveness liveness_;
  std::chrono::milliseconds uplink_probe_;
  std::deque<IfAddressKey> queue_;
  std::set<IfAddressKey> queued_;
  std::optional<SteadyTime> next_burst_;
  // First claims waiting for another node to answer on the uplink: until when; SteadyTime::max()
  // while the solicitation is still queued.
  std::map<IfAddressKey, SteadyTime> claim_waits_;
  // DAD follow-ups: when each address is probed on the interface it was seen on, keyed address
  // first so that one address is followed once whatever interface repeats its probe.
  std::chrono::milliseconds dad_delay_;
  std::map<Ipv6Address, std::pair<IfIndex, SteadyTime>> dad_waits_;
  ProberCounters counters_;
};

}  // namespace ndpsync
