// The status document's rendering cost is bounded by time, not by connections
// (status_cache.hpp): a client that connects, reads and closes in a tight loop gets the document
// rendered at most once per gap, also while the agent keeps working.
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "ndpsync/status_cache.hpp"

using namespace ndpsync;
using namespace std::chrono_literals;

TEST_CASE("status cache: a connect loop renders at most once per gap, however busy the agent") {
  boost::asio::io_context io;
  int renders = 0;
  StatusCache cache(io, [&](StatusCache::Clock::time_point) {
    ++renders;
    return std::string(R"({"schema":1})");
  });
  std::uint64_t generation = 0;
  int connections = 0;
  const auto t0 = StatusCache::Clock::now();
  while (StatusCache::Clock::now() - t0 < 500ms) {
    auto document = cache.get(++generation);  // the agent worked between any two connections
    CHECK(*document == "{\"schema\":1}\n");
    document.reset();  // the connection is done: it read everything and closed
    io.poll();
    ++connections;
  }
  INFO(connections << " connections in 0.5 s");
  CHECK(connections > 100);
  // One render at the start, then one per 200 ms gap: 3, and 4 on a slow machine's edges.
  CHECK(renders <= 4);
  CHECK(cache.renders() == static_cast<std::uint64_t>(renders));
}

TEST_CASE("status cache: a change is shown once the gap is over; an idle agent keeps nothing") {
  boost::asio::io_context io;
  std::string text = "one";
  StatusCache cache(io, [&](StatusCache::Clock::time_point) { return text; });
  CHECK(*cache.get(1) == "one\n");
  text = "two";
  CHECK(*cache.get(2) == "one\n");  // within the gap: the document already rendered
  std::this_thread::sleep_for(StatusCache::kMinGap + 20ms);
  io.poll();                        // the hold ends: nothing keeps the document now
  CHECK(*cache.get(2) == "two\n");  // rendered again, since it was released
  CHECK(cache.renders() == 2);
  CHECK(*cache.get(2) == "two\n");  // unchanged: no render
  CHECK(cache.renders() == 2);
}
