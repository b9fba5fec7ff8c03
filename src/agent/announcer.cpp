#include "ndpsync/announcer.hpp"

#include "ndpsync/decision_engine.hpp"

namespace ndpsync {

void Announcer::claimed(const IfAddressKey& key, SteadyTime now) {
  pending_.try_emplace(key, Pending{.next = now, .give_up = now + kGiveUp});
}

void Announcer::due(SteadyTime now, const ObservedState& observed, const Decision& decision,
                    std::vector<Action>& out) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    auto& [key, pending] = *it;
    if (!decision.desired.contains(key)) {
      it = pending_.erase(it);  // withdrawn meanwhile: nothing to announce
      continue;
    }
    if (now < pending.next) {
      ++it;
      continue;
    }
    pending.next = now + kAskWindow;
    const auto* answer = observed.neighbour(key);
    const bool answered = answer != nullptr && answer->present() &&
                          (answer->router || another_node(observed, key.first, *answer));
    if (!pending.asked || (answered && answer->state.in(kNudReachable | kNudStale))) {
      // First ask; or ask again after an answer (the kernel is asking already in DELAY and PROBE).
      if (!answered || now < pending.give_up) {
        pending.asked = true;
        out.push_back({Step::kAsk, key});
        ++it;
        continue;
      }
    }
    if (!answered) {
      out.push_back({Step::kAnnounce, key});
    } else if (now >= pending.give_up) {
      out.push_back({Step::kWithhold, key});
    } else {
      ++it;
      continue;
    }
    it = pending_.erase(it);
  }
}

bool Announcer::admit(SteadyTime now) {
  if (now - second_ >= std::chrono::seconds(1)) {
    second_ = now;
    this_second_ = 0;
  }
  return ++this_second_ <= kPerSecond;
}

std::optional<SteadyTime> Announcer::next_wakeup() const {
  std::optional<SteadyTime> next;
  for (const auto& [key, pending] : pending_) {
    if (!next || pending.next < *next) next = pending.next;
  }
  return next;
}

}  // namespace ndpsync
