// The status document's rendering cost is bounded by time, not by connections
// (status_cache.hpp): a client that connects, reads and closes in a tight loop gets the document
// rendered at most once per gap, also while the agent keeps working.
#include <chrono>
#include <thread>
#include "catch2_compat.hpp"

#include "ndpsync/status_cache.hpp"

using namespace ndpsync;
using namespace std::chrono_literals;

TEST_CASE("status cache: a connect loop spends at most about a tenth of its time rendering") {
  boost::asio::io_context io;
  int renders = 0;
  StatusCache cache(io, [&](StatusCache::Clock::time_point) {
    ++renders;
    std::this_thread::sleep_for(5ms);  // an expensive document
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
  // A render takes 5 ms and the next waits ten times that: 500 / 55 + 1 = 10 renders, and a few
  // more on a slow machine, where a render takes longer and the gap grows with it. Rendered for
  // each connection, it would be 100.
  CHECK(renders <= 12);
  CHECK(cache.renders() == static_cast<std::uint64_t>(renders));
}

TEST_CASE("status cache: unchanged, the document is served again and held; a change shows soon") {
  boost::asio::io_context io;
  std::string text = "one";
  StatusCache cache(io, [&](StatusCache::Clock::time_point) {
    std::this_thread::sleep_for(20ms);  // the gap after it: 200 ms
    return text;
  });
  CHECK(*cache.get(1) == "one\n");  // released by its connection at once, held by the cache
  CHECK(*cache.get(1) == "one\n");
  CHECK(cache.renders() == 1);
  text = "two";
  CHECK(*cache.get(2) == "one\n");  // within the gap: the document already rendered
  std::this_thread::sleep_for(250ms);
  CHECK(*cache.get(2) == "two\n");  // the gap is over
  CHECK(cache.renders() == 2);
  std::this_thread::sleep_for(StatusCache::kHold + 20ms);
  io.poll();                        // the hold ends: nothing keeps the document now
  CHECK(*cache.get(2) == "two\n");  // rendered again, since it was released
  CHECK(cache.renders() == 3);
}
