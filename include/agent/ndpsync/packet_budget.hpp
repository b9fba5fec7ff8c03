// The packet listeners' cheap rate limit, taken before any judgement: a budget of packets per
// short window. Once a window's budget is spent the loop gives the socket a drop-all filter until
// the window ends, so that the rest of a flood costs the agent nothing. Pure: the loop feeds it
// counts and time.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <optional>

namespace ndpsync {

class PacketBudget {
 public:
  using Time = std::chrono::steady_clock::time_point;
  PacketBudget(std::size_t budget, std::chrono::milliseconds window)
      : budget_(budget), window_(window) {}

  struct Spent {
    std::size_t allowed = 0;    // of the packets read, how many may be judged
    std::optional<Time> pause;  // the budget is spent: drop everything until then
  };
  // `read` packets were read at `now`.
  Spent spend(std::size_t read, Time now) {
    if (!started_ || now >= *started_ + window_) {
      started_ = now;
      used_ = 0;
    }
    Spent spent{.allowed = std::min(read, budget_ - used_)};
    used_ += spent.allowed;
    if (used_ >= budget_) spent.pause = *started_ + window_;
    return spent;
  }

 private:
  std::size_t budget_;
  std::chrono::milliseconds window_;
  std::optional<Time> started_;
  std::size_t used_ = 0;
};

}  // namespace ndpsync
