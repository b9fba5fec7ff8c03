// bench/heap.cpp — the agent's heap per proxied address, on the fake kernel (no root).
//
//   build/bench_heap [N]   (default 10000)
//
// Builds the unit tests' lab, adds N containers as REACHABLE neighbours on br0, lets the agent
// start and proxy them all, and reports the heap (glibc mallinfo2) the agent holds, before and
// after a status document, per address. bench/run.sh measures the real process's RSS; this
// isolates the agent's own data structures from the fake kernel and the shared libraries.
#include <malloc.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "lab.hpp"
#include "ndpsync/agent.hpp"

using namespace ndpsync;
using namespace ndpsync::testing;

namespace {

std::size_t heap_in_use() {
  malloc_trim(0);
  return mallinfo2().uordblks;
}

std::string container(std::size_t i) {
  char text[64];
  std::snprintf(text, sizeof text, "2001:db8:0:1::5:%zx", i + 0x10);
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::off);  // one info line per entry is not what we measure
  const std::size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 10000;
  FakeKernel kernel;
  build_lab(kernel);
  for (std::size_t i = 0; i < n; ++i) {
    kernel.set_neighbour(kBr0, container(i), kNudReachable);
  }
  kernel.drop_events();
  Config config;
  config.max_entries = n + 100;
  config.max_entries_per_interface = n + 100;

  const auto before = heap_in_use();
  auto agent = std::make_unique<AgentCore>(config, kernel);
  agent->resync({}, ResyncReason::kStart);
  const auto entries = kernel.proxies().size();
  const auto held = heap_in_use() - before;
  const auto rendered = agent->status_text({}).size();
  const auto after_status = heap_in_use() - before;
  std::printf(
      "{\"addresses\": %zu, \"entries\": %zu, \"agent_heap_bytes\": %zu, \"bytes_per_entry\": "
      "%.1f, "
      "\"agent_heap_after_status_bytes\": %zu, \"status_bytes\": %zu}\n",
      n, entries, held, entries ? double(held) / double(entries) : 0.0, after_status, rendered);
  return entries >= n ? 0 : 1;
}
