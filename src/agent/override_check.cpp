#include "ndpsync/override_check.hpp"

#include "ndpsync/decision_engine.hpp"

namespace ndpsync {

void OverrideCheck::claimed(const IfAddressKey& key, SteadyTime now) {
  pending_.try_emplace(key, Pending{.next = now, .give_up = now + kGiveUp});
}

void OverrideCheck::due(SteadyTime now, const ObservedState& observed, const Decision& decision,
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

std::optional<SteadyTime> OverrideCheck::next_wakeup() const {
  std::optional<SteadyTime> next;
  for (const auto& [key, pending] : pending_) {
    if (!next || pending.next < *next) next = pending.next;
  }
  return next;
}

}  // namespace ndpsync
