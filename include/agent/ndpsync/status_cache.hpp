// The status document the socket serves. At 10,000 entries a document is about 1.2 MB and takes
// tens of milliseconds to render; a local user who connects in a tight loop must not turn that
// into the agent's whole day, so the cost is bounded by time and not by connections:
// - a document nothing changed since is served again, and kept for kHold after its rendering
//   even when no connection holds it (a client that connects, reads and closes in a loop would
//   otherwise find it freed and have it rendered for each connection);
// - after a change, it is rendered again once the gap since the last rendering is over: ten times
//   that rendering's duration, so rendering takes at most about a tenth of the loop. Until then a
//   connection gets the document already rendered (late by at most the gap: about a millisecond
//   for a small document, a few hundred for 10,000 entries).
// Connections are not rationed: a flood must not lock out the `status` of a liveness probe.
#pragma once

#include <utility>  // before Asio: Boost 1.74 uses std::exchange without including it

#include <boost/asio.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace ndpsync {

class StatusCache {
 public:
  using Clock = std::chrono::steady_clock;
  using Document = std::shared_ptr<const std::string>;
  // The document's text, without the final newline.
  using Render = std::function<std::string(Clock::time_point)>;

  static constexpr auto kHold = std::chrono::milliseconds(200);
  // A document older than this is rendered again even when nothing happened: deadlines move.
  static constexpr auto kMaxAge = std::chrono::seconds(1);

  StatusCache(boost::asio::io_context& io, Render render);

  // The document for a connection now. `generation` counts the agent's pieces of work: a new one
  // makes the document stale (served on until the gap is over).
  Document get(std::uint64_t generation);

  [[nodiscard]] std::uint64_t renders() const { return renders_; }

 private:
  Render render_;
  // Holds the last document for kHold; after that only connections still sending it keep it: an
  // idle agent holds no document.
  boost::asio::steady_timer hold_timer_;
  Document held_;
  std::weak_ptr<const std::string> rendered_;
  std::uint64_t rendered_generation_ = ~std::uint64_t{0};
  Clock::time_point rendered_at_;
  Clock::duration gap_{};
  std::uint64_t renders_ = 0;
};

}  // namespace ndpsync
