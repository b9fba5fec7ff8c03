#include "ndpsync/discovery.hpp"

#include <algorithm>

namespace ndpsync {

Discovery::Discovery(DiscoveryLimits limits) : limits_(limits), tokens_(limits.rate) {}

void Discovery::set_limits(const DiscoveryLimits& limits) {
  limits_ = limits;
  tokens_ = std::min(tokens_, static_cast<double>(limits_.rate));
}

std::optional<Discovery::Verdict> Discovery::screen(const Solicitation& ns, SteadyTime now) {
  ++counters_.solicitations;
  if (const auto it = pending_.find(ns.target); it != pending_.end()) {
    ++counters_.repeats;
    auto& solicitors = it->second.solicitors;
    if (solicitors.size() < limits_.solicitors_kept &&
        std::find(solicitors.begin(), solicitors.end(), ns) == solicitors.end()) {
      solicitors.push_back(ns);
    }
    return Verdict::kPending;
  }
  if (const auto it = negative_.find(ns.target); it != negative_.end()) {
    if (now < it->second.until) {
      ++counters_.negative_hits;
      return Verdict::kNegative;
    }
    negative_.erase(it);
  }
  return std::nullopt;
}

Discovery::Verdict Discovery::admit(const Solicitation& ns, IfIndex downstream, SteadyTime now) {
  if (pending_.size() >= limits_.in_flight || !take_token(now)) {
    ++counters_.limited;
    return Verdict::kLimited;
  }
  ++counters_.probes;
  pending_.emplace(ns.target, Pending{downstream, now, now + limits_.answer_wait, {ns}});
  return Verdict::kProbe;
}

void Discovery::refuse(const Ipv6Address& target, SteadyTime now) {
  ++counters_.refused;
  remember_negative(target, 0, now);
}

std::vector<Solicitation> Discovery::found(const Ipv6Address& target, IfIndex uplink) {
  const auto it = pending_.find(target);
  if (it == pending_.end()) return {};
  ++counters_.found;
  std::vector<Solicitation> answer;
  for (const auto& ns : it->second.solicitors) {
    if (ns.ifindex == uplink) answer.push_back(ns);
  }
  pending_.erase(it);
  return answer;
}

void Discovery::expire(SteadyTime now, std::vector<IfAddressKey>& expired) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (now < it->second.deadline) {
      ++it;
      continue;
    }
    ++counters_.not_found;
    const auto& pending = it->second;
    expired.emplace_back(pending.downstream, it->first);
    if (const auto changed = changed_.find(pending.downstream);
        changed != changed_.end() && changed->second >= pending.since) {
      ++counters_.forgiven;
    } else {
      remember_negative(it->first, pending.downstream, now);
    }
    it = pending_.erase(it);
  }
  // A change older than an answer wait is before every pending probe's start.
  std::erase_if(changed_,
                [&](const auto& item) { return item.second + limits_.answer_wait < now; });
  prune_negative(now);
}

void Discovery::link_changed(IfIndex index, SteadyTime now) {
  changed_[index] = now;
  counters_.forgiven += std::erase_if(negative_, [index](const auto& item) {
    return item.second.downstream == index || item.second.downstream == 0;
  });
}

std::optional<SteadyTime> Discovery::next_wakeup() const {
  std::optional<SteadyTime> next;
  for (const auto& [target, pending] : pending_) {
    if (!next || pending.deadline < *next) next = pending.deadline;
  }
  return next;
}

void Discovery::remember_negative(const Ipv6Address& target, IfIndex downstream, SteadyTime now) {
  const auto until = now + limits_.negative_ttl;
  negative_[target] = {until, downstream};
  negative_order_.emplace_back(until, target);
  prune_negative(now);
}

// The TTL is one for all, so the order of insertion is the order of expiry. A target noted
// twice has two places in the order; only the one matching its map entry removes it.
void Discovery::prune_negative(SteadyTime now) {
  while (!negative_order_.empty() &&
         (negative_order_.front().first <= now || negative_.size() > limits_.negative_max ||
          negative_order_.size() > 2 * limits_.negative_max)) {
    const auto [until, target] = negative_order_.front();
    negative_order_.pop_front();
    const auto it = negative_.find(target);
    if (it != negative_.end() && it->second.until == until) negative_.erase(it);
  }
}

bool Discovery::take_token(SteadyTime now) {
  const double depth = limits_.rate;
  if (refilled_) {
    const std::chrono::duration<double> elapsed = now - *refilled_;
    tokens_ = std::min(depth, tokens_ + elapsed.count() * limits_.rate);
  }
  refilled_ = now;
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

}  // namespace ndpsync
