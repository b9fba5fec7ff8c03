#include "ndpsync/liveness.hpp"

#include <algorithm>

namespace ndpsync {

std::chrono::milliseconds Liveness::reprobe_interval() const {
  // A few attempts per timeout, never more than one a second: the kernel's own probe sequence
  // (ucast_solicit x retrans_time) takes three.
  return std::max<std::chrono::milliseconds>(timeout_ / 3, std::chrono::seconds(1));
}

void Liveness::start(const IfAddressKey& key, SteadyTime now, bool probe_now,
                     std::vector<IfAddressKey>& probe) {
  auto [it, inserted] = verifying_.try_emplace(key);
  if (!inserted) {
    return;  // already under verification: its deadline stands
  }
  it->second.deadline = now + timeout_;
  it->second.next_probe = now + reprobe_interval();
  if (probe_now) {
    it->second.probes = 1;
    probe.push_back(key);
  }
}

bool Liveness::observe(const IfAddressKey& key, std::optional<NudState> state, SteadyTime now,
                       std::vector<IfAddressKey>& probe) {
  if (state && state->in(kNudConfirmed)) {
    // Confirmed by the kernel: alive, whatever we thought.
    const bool changed = withdrawn_.erase(key) > 0;
    verifying_.erase(key);
    return changed;
  }
  if (!state) {
    // Gone from the table. A withdrawn one needs no more attention; a claimed one is verified.
    if (withdrawn_.erase(key) > 0) {
      return false;
    }
    start(key, now, /*probe_now=*/true, probe);
    return false;
  }
  if (state->in(kNudStale | kNudDelay | kNudProbe)) {
    // Unconfirmed but present. STALE after a withdrawal means the node spoke again (an NS or
    // unsolicited NA): give it a fresh chance.
    const bool changed = withdrawn_.erase(key) > 0;
    // DELAY and PROBE mean the kernel is verifying already.
    start(key, now, /*probe_now=*/state->in(kNudStale), probe);
    return changed;
  }
  // FAILED, INCOMPLETE or NONE: verify unless already withdrawn.
  if (!withdrawn_.contains(key)) {
    start(key, now, /*probe_now=*/true, probe);
  }
  return false;
}

void Liveness::suspect(const IfAddressKey& key, SteadyTime now, std::vector<IfAddressKey>& probe) {
  if (!withdrawn_.contains(key)) {
    start(key, now, /*probe_now=*/true, probe);
  }
}

void Liveness::forget_interface(IfIndex index) {
  std::erase_if(verifying_, [index](const auto& item) { return item.first.first == index; });
  std::erase_if(withdrawn_, [index](const IfAddressKey& key) { return key.first == index; });
}

void Liveness::forget(const IfAddressKey& key) {
  verifying_.erase(key);
  withdrawn_.erase(key);
}

void Liveness::postpone(const IfAddressKey& key, SteadyTime now) {
  constexpr unsigned kMaxPostponements = 3;
  const auto it = verifying_.find(key);
  if (it != verifying_.end() && it->second.postponed < kMaxPostponements) {
    ++it->second.postponed;
    it->second.deadline = std::max(it->second.deadline, now + timeout_);
  }
}

bool Liveness::tick(SteadyTime now, std::vector<IfAddressKey>& probe) {
  bool changed = false;
  for (auto it = verifying_.begin(); it != verifying_.end();) {
    if (now >= it->second.deadline) {
      withdrawn_.insert(it->first);
      it = verifying_.erase(it);
      changed = true;
      continue;
    }
    if (now >= it->second.next_probe) {
      it->second.next_probe = now + reprobe_interval();
      ++it->second.probes;
      probe.push_back(it->first);
    }
    ++it;
  }
  return changed;
}

std::optional<SteadyTime> Liveness::next_deadline() const {
  std::optional<SteadyTime> next;
  for (const auto& [key, v] : verifying_) {
    const auto due = std::min(v.deadline, v.next_probe);
    if (!next || due < *next) {
      next = due;
    }
  }
  return next;
}

LivenessView Liveness::view() const {
  LivenessView view;
  for (const auto& [key, v] : verifying_) {
    view.held.insert(key);
  }
  view.withdrawn = withdrawn_;
  return view;
}

}  // namespace ndpsync
