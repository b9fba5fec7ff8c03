// The agent's start: READY=1 only after a first read of the kernel that succeeded.
#include "catch2_compat.hpp"

#include "lab.hpp"
#include "ndpsync/agent_start.hpp"

using namespace ndpsync;
using namespace ndpsync::testing;

namespace {

// Delegates to the fake; its dumps fail with EBUSY while `fail_dump` is set.
class FailingDump final : public KernelPort {
 public:
  explicit FailingDump(FakeKernel& fake) : fake_(fake) {}
  bool fail_dump = true;
  Result<Snapshot> dump() override {
    if (fail_dump) return {.status = {.error = EBUSY, .message = "EBUSY (dump interrupted)"}};
    return fake_.dump();
  }
  Result<std::vector<ProxyEntry>> dump_proxies() override { return fake_.dump_proxies(); }
  Status add_proxy(const ProxyEntry& e) override { return fake_.add_proxy(e); }
  Status delete_proxy(const ProxyEntry& e) override { return fake_.delete_proxy(e); }
  Status probe_neighbour(IfIndex i, const Ipv6Address& a) override {
    return fake_.probe_neighbour(i, a);
  }
  Status delete_neighbour(IfIndex i, const Ipv6Address& a) override {
    return fake_.delete_neighbour(i, a);
  }
  Result<std::string> read_sysctl(const SysctlKey& k) override { return fake_.read_sysctl(k); }
  Status write_sysctl(const SysctlKey& k, const std::string& v) override {
    return fake_.write_sysctl(k, v);
  }

 private:
  FakeKernel& fake_;
};

struct Recorded {
  std::vector<std::string> notes;
  int ready = 0;
  StartSteps steps() {
    return {.ready = [this] { ++ready; },
            .notify = [this](const std::string& state) { notes.push_back(state); }};
  }
};

}  // namespace

TEST_CASE("a first read that fails: no READY=1, exit 1, nothing written") {
  FakeKernel fake;
  build_lab(fake);
  FailingDump kernel(fake);
  AgentCore core(Config{}, kernel);
  Recorded recorded;
  const auto exit_code = start_agent(core, SteadyTime{}, recorded.steps());
  REQUIRE(exit_code.has_value());
  CHECK(*exit_code == 1);
  CHECK(recorded.notes.empty());
  CHECK(recorded.ready == 0);
  CHECK(fake.proxies().empty());
  CHECK(fake.sysctl_writes.empty());
}

TEST_CASE("a first read that succeeds: the table is right, then READY=1") {
  FakeKernel fake;
  build_lab(fake);
  FailingDump kernel(fake);
  kernel.fail_dump = false;
  AgentCore core(Config{}, kernel);
  Recorded recorded;
  std::size_t entries_when_ready = 0;
  auto steps = recorded.steps();
  steps.ready = [&] {
    ++recorded.ready;
    entries_when_ready = fake.proxies().size();
  };
  CHECK_FALSE(start_agent(core, SteadyTime{}, steps).has_value());
  CHECK(recorded.notes == std::vector<std::string>{"READY=1"});
  CHECK(recorded.ready == 1);
  CHECK(entries_when_ready == 5);
}
