#include "ndpsync/prober.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>

namespace ndpsync {
namespace {

// Probes go out in bursts: each one may create a neighbour entry, and the kernel's table limit
// (gc_thresh3) is shared by every namespace. A mass deletion must not fill it with our probes.
constexpr std::size_t kProbeBurst = 128;
constexpr auto kProbeInterval = std::chrono::milliseconds(100);

}  // namespace

Prober::Prober(NeighbourPort& kernel, std::chrono::milliseconds liveness_timeout,
               std::chrono::milliseconds uplink_probe, std::chrono::milliseconds dad_delay)
    : kernel_(kernel),
      liveness_(liveness_timeout),
      uplink_probe_(uplink_probe),
      dad_delay_(dad_delay) {}

void Prober::set_timeouts(std::chrono::milliseconds liveness_timeout,
                          std::chrono::milliseconds uplink_probe,
                          std::chrono::milliseconds dad_delay) {
  liveness_.set_timeout(liveness_timeout);
  uplink_probe_ = uplink_probe;
  dad_delay_ = dad_delay;
}

// A DAD probe is a claim nobody has verified: the address gets no entry from it, only a probe
// once its DAD time is over. The node's answer makes it a neighbour, and the neighbour is what
// gets proxied, judged like every other. So the probe is followed only where that neighbour
// would win: an address the router, the host, another node on the uplink or another container
// holds gains nothing, and neither does one the guards or the caps refuse.
void Prober::on_dad_probes(const std::vector<DadProbe>& probes, const DecisionEngine& engine,
                           const ObservedState& observed, const Config& config, SteadyTime now) {
  if (!config.dad_snooping) return;
  const auto& d = engine.decision();
  for (const auto& probe : probes) {
    // Bridge ports see their containers' probes too; the bridge (downstream) sees them as well.
    if (!std::binary_search(d.downstream.begin(), d.downstream.end(), probe.ifindex)) continue;
    const auto target = probe.target.to_string();
    if (d.claim(probe.target) != nullptr) {
      ignore_dad();
      spdlog::debug("DAD probe for {} on {}: already claimed", target,
                    observed.link_name(probe.ifindex));
      continue;
    }
    if (const auto reason =
            engine.judge_new_source(config, observed, probe.target, probe.ifindex)) {
      ignore_dad();
      spdlog::debug("DAD probe for {} on {}: refused ({})", target,
                    observed.link_name(probe.ifindex), to_string(*reason));
      continue;
    }
    const bool followed = follow_dad({probe.ifindex, probe.target}, now);
    spdlog::debug("DAD probe for {} on {}: {}", target, observed.link_name(probe.ifindex),
                  followed ? "probing it once its DAD time is over" : "ignored (pending)");
  }
}

bool Prober::follow_dad(const IfAddressKey& key, SteadyTime now) {
  ++counters_.dad_probes_seen;
  if (dad_waits_.size() >= kMaxDadFollowUps || dad_waits_.contains(key.second)) {
    ++counters_.dad_probes_ignored;
    return false;
  }
  ++counters_.dad_probes_followed;
  // Before the DAD time is over the address is tentative: its node would not answer yet.
  dad_waits_.emplace(key.second, std::pair(key.first, now + dad_delay_));
  return true;
}

bool Prober::observe(const IfAddressKey& key, std::optional<NudState> state, SteadyTime now) {
  std::vector<IfAddressKey> probe;
  const bool changed = liveness_.observe(key, state, now, probe);
  enqueue(probe);
  return changed;
}

void Prober::suspect(const IfAddressKey& key, SteadyTime now) {
  std::vector<IfAddressKey> probe;
  liveness_.suspect(key, now, probe);
  enqueue(probe);
}

bool Prober::tick(SteadyTime now) {
  std::vector<IfAddressKey> probe;
  const auto before = liveness_.withdrawn().size();
  const bool changed = liveness_.tick(now, probe);
  if (liveness_.withdrawn().size() > before) {
    counters_.withdrawals += liveness_.withdrawn().size() - before;
  }
  enqueue(probe);
  for (auto it = dad_waits_.begin(); it != dad_waits_.end();) {
    if (now >= it->second.second) {
      enqueue({{it->second.first, it->first}});
      it = dad_waits_.erase(it);
    } else {
      ++it;
    }
  }
  send(now);
  return changed;
}

bool Prober::claim_cleared(const IfAddressKey& key, std::string_view uplink, SteadyTime now) {
  if (uplink_probe_.count() == 0) return true;
  if (const auto it = claim_waits_.find(key); it != claim_waits_.end()) {
    if (now < it->second) return false;  // still waiting
    claim_waits_.erase(it);
    return true;
  }
  spdlog::debug("asking {} whether another node uses {} before claiming it", uplink,
                key.second.to_string());
  claim_waits_.emplace(key, SteadyTime::max());
  enqueue({key});
  send(now);
  return false;
}

void Prober::due(SteadyTime now, std::set<Ipv6Address>& addresses) const {
  for (const auto& [key, until] : claim_waits_) {
    if (now >= until) addresses.insert(key.second);
  }
}

void Prober::verify_holder(const IfAddressKey& key, SteadyTime now) {
  enqueue({key});
  send(now);
}

void Prober::enqueue(const std::vector<IfAddressKey>& probe) {
  for (const auto& key : probe) {
    if (queued_.insert(key).second) queue_.push_back(key);
  }
}

void Prober::send(SteadyTime now) {
  if (!next_burst_ || now >= *next_burst_) flush(now);
}

void Prober::flush(SteadyTime now) {
  for (std::size_t sent = 0; sent < kProbeBurst && !queue_.empty(); ++sent) {
    const auto key = queue_.front();
    queue_.pop_front();
    queued_.erase(key);
    ++counters_.probes;
    const auto status = kernel_.probe_neighbour(key.first, key.second);
    if (!status.ok()) {
      spdlog::debug("{}", status.message);
      if (status.error == ENOBUFS || status.error == EAGAIN) liveness_.postpone(key, now);
    }
    if (const auto wait = claim_waits_.find(key); wait != claim_waits_.end()) {
      // The wait starts now that the solicitation is out (the kernel retries it on its own).
      ++counters_.uplink_probes;
      wait->second = now + uplink_probe_;
    }
  }
  next_burst_ = queue_.empty() ? std::nullopt : std::optional<SteadyTime>(now + kProbeInterval);
}

std::optional<SteadyTime> Prober::next_wakeup() const {
  auto next = liveness_.next_deadline();
  if (next_burst_ && (!next || *next_burst_ < *next)) next = next_burst_;
  for (const auto& [key, until] : claim_waits_) {
    if (until != SteadyTime::max() && (!next || until < *next)) next = until;
  }
  for (const auto& [address, wait] : dad_waits_) {
    if (!next || wait.second < *next) next = wait.second;
  }
  return next;
}

}  // namespace ndpsync
