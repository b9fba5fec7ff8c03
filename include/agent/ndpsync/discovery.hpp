// On-demand discovery's bookkeeping: which targets a router asked for on an uplink are being
// probed downstream, which did not answer (the negative cache), and the limits that keep a scan
// of the /64 from outside from making the host probe without bound. Pure: the agent feeds it
// solicitations and time, and does the probing and the answering.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <vector>

#include "ndpsync/policy.hpp"
#include "ndpsync/solicitation_port.hpp"

namespace ndpsync {

using SteadyTime = std::chrono::steady_clock::time_point;

struct DiscoveryLimits {
  unsigned rate = 100;  // probes a second, on average (a token bucket one second deep)
  // Probes waiting for an answer at once. Each one is a neighbour entry on a downstream
  // interface until it is answered or deleted; the kernel's gc_thresh limits are global, and
  // over gc_thresh2 it evicts entries not updated for 5 s, real containers' first. So this
  // stays far under the default gc_thresh1 (128).
  std::size_t in_flight = 64;
  // How long a probed target has to answer. A container on a veth or a bridge answers in
  // milliseconds; the router gives up after three solicitations a second apart.
  std::chrono::milliseconds answer_wait{1000};
  std::chrono::seconds negative_ttl{30};  // a target that did not answer is not probed again
  std::size_t negative_max = 16384;       // the oldest go first beyond this (about 1 MiB)
  std::size_t solicitors_kept = 4;        // per pending target: whom to answer once it is found
};

struct DiscoveryCounters {
  std::uint64_t solicitations = 0;  // on an uplink, in its prefixes, for an address not proxied
  std::uint64_t probes = 0;         // downstream probes sent
  std::uint64_t found = 0;          // probed targets that got their entry
  std::uint64_t not_found = 0;      // probed targets that did not answer in time
  std::uint64_t refused = 0;        // no downstream route, or the guards refused the target
  std::uint64_t limited = 0;        // dropped for the rate or the in-flight limit
  std::uint64_t negative_hits = 0;  // dropped: the target is in the negative cache
  std::uint64_t repeats = 0;        // the target is being probed already
  std::uint64_t forgiven = 0;       // misses not cached, or forgotten: their link changed
  std::uint64_t adverts = 0;        // solicited advertisements sent for found targets
};

class Discovery {
 public:
  enum class Verdict : std::uint8_t {
    kProbe,     // probe `downstream` for the target now
    kPending,   // a probe for it is out already; the solicitor is answered with the others
    kNegative,  // it did not answer lately
    kLimited,   // over the rate or the in-flight limit
  };

  explicit Discovery(DiscoveryLimits limits = {});
  void set_limits(const DiscoveryLimits& limits);

  // A solicitation that needs no judging to be dropped: pending or negative. nullopt: judge it
  // (the guards, a downstream route), then call admit() or refuse().
  std::optional<Verdict> screen(const Solicitation& ns, SteadyTime now);
  // The guards admit it, to be probed on `downstream`: kProbe or kLimited.
  Verdict admit(const Solicitation& ns, IfIndex downstream, SteadyTime now);
  // The guards refuse it, or no downstream interface holds it: negative-cached.
  void refuse(const Ipv6Address& target, SteadyTime now);

  // The entry for `target` is in on `uplink`: the solicitors there to answer now. The target
  // is no longer pending.
  std::vector<Solicitation> found(const Ipv6Address& target, IfIndex uplink);
  // Probes whose answer wait is over: negative-cached, and appended to `expired` as
  // (downstream, target) so that the neighbour entries the probes left can go.
  void expire(SteadyTime now, std::vector<IfAddressKey>& expired);
  // Link `index` changed (came up, gained a port, an address or a route, or an address of its
  // finished DAD): what a probe there found says nothing now. Its misses go, and so do those
  // refused for want of a downstream route (one may lead there now); a probe waiting on it when
  // it changed is not cached as a miss. The probe sent while a bridge that just gained its first
  // port was still doing DAD never left at all (the kernel has no source address for it).
  void link_changed(IfIndex index, SteadyTime now);
  void note_advert() { ++counters_.adverts; }

  [[nodiscard]] std::optional<SteadyTime> next_wakeup() const;
  [[nodiscard]] bool pending(const Ipv6Address& target) const { return pending_.contains(target); }
  [[nodiscard]] std::size_t pending_count() const { return pending_.size(); }
  [[nodiscard]] std::size_t negative_count() const { return negative_.size(); }
  [[nodiscard]] const DiscoveryCounters& counters() const { return counters_; }

 private:
  struct Pending {
    IfIndex downstream = 0;
    SteadyTime since;
    SteadyTime deadline;
    std::vector<Solicitation> solicitors;
  };
  struct Miss {
    SteadyTime until;
    IfIndex downstream = 0;  // where the probe went; 0: refused, never probed
  };
  void remember_negative(const Ipv6Address& target, IfIndex downstream, SteadyTime now);
  void prune_negative(SteadyTime now);
  bool take_token(SteadyTime now);

  DiscoveryLimits limits_;
  std::map<Ipv6Address, Pending> pending_;
  std::map<Ipv6Address, Miss> negative_;
  std::deque<std::pair<SteadyTime, Ipv6Address>> negative_order_;  // oldest first
  std::map<IfIndex, SteadyTime> changed_;  // links' last changes, kept for an answer wait
  double tokens_ = 0;
  std::optional<SteadyTime> refilled_;
  DiscoveryCounters counters_;
};

}  // namespace ndpsync
