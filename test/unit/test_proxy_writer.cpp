// The one executor of proxy-table writes, and its install ledger.
#include "catch2_compat.hpp"

#include "lab.hpp"
#include "ndpsync/proxy_writer.hpp"

using namespace ndpsync;
using namespace ndpsync::testing;
using namespace std::chrono_literals;

TEST_CASE("install ledger: notes survive merging, erasing and pruning, in any order") {
  InstallLedger ledger;
  // More notes than the tail holds, added out of order, some noted twice.
  for (int i = 200; i > 0; --i) {
    ledger.note({kEth0, ip("2001:db8::" + std::to_string(i))}, static_cast<std::uint32_t>(i));
  }
  ledger.note({kEth0, ip("2001:db8::7")}, 7000);
  ledger.settle();
  CHECK(ledger.size() == 200);
  CHECK(ledger.since({kEth0, ip("2001:db8::7")}) == 7000U);
  CHECK(ledger.since({kEth0, ip("2001:db8::200")}) == 200U);
  CHECK_FALSE(ledger.since({kVc1, ip("2001:db8::7")}));  // another uplink, another entry
  ledger.erase({kEth0, ip("2001:db8::1")});
  ledger.erase({kEth0, ip("2001:db8::1")});  // twice: still one erasure
  ledger.erase({kEth0, ip("2001:db8::2")});
  ledger.note({kEth0, ip("2001:db8::2")}, 22);  // noted again in its old place
  CHECK(ledger.since({kEth0, ip("2001:db8::2")}) == 22U);
  ledger.note({kEth0, ip("2001:db8::1000")}, 1);  // in the tail, not yet merged
  ledger.erase({kEth0, ip("2001:db8::1000")});
  CHECK_FALSE(ledger.since({kEth0, ip("2001:db8::1")}));
  CHECK_FALSE(ledger.since({kEth0, ip("2001:db8::1000")}));
  CHECK(ledger.size() == 199);

  ProxyTable installed;
  installed[{kEth0, ip("2001:db8::7")}] = kOwner;
  installed[{kEth0, ip("2001:db8::8")}] = 3;  // someone else's now
  std::map<IfAddressKey, Desired> wanted;
  wanted[{kEth0, ip("2001:db8::9")}] = {};  // wanted, lost by the kernel: keeps its note
  ledger.prune(installed, kOwner, wanted);
  CHECK(ledger.size() == 2);
  CHECK(ledger.since({kEth0, ip("2001:db8::7")}) == 7000U);
  CHECK(ledger.since({kEth0, ip("2001:db8::9")}) == 9U);
}

TEST_CASE("proxy writer: the agent's retries with backoff, the one-shot's reports once") {
  FakeKernel kernel;
  build_lab(kernel);
  ObservedState observed;
  observed.replace(kernel.dump().value);
  const ProxyEntry entry{kEth0, ip("2001:db8:0:1::2:9"), kOwner};
  kernel.fail_address(FakeKernel::Call::kAdd, "2001:db8:0:1::2:9", EPERM);
  const SteadyTime t0{};
  const auto wall = [] { return std::chrono::system_clock::from_time_t(1700000000); };

  SECTION("with backoff: deferred until the backoff runs out, then retried") {
    ProxyWriter writer(kernel, Retries::kWithBackoff, wall);
    auto outcome = writer.write(entry, WriteOp::kAdd, observed, t0);
    CHECK(outcome.kind == WriteOutcome::Kind::kFailed);
    CHECK(outcome.status.error == EPERM);
    CHECK(writer.pending().size() == 1);
    CHECK(writer.pending().begin()->second.next == t0 + 1s);
    CHECK(writer.write(entry, WriteOp::kAdd, observed, t0 + 500ms).kind ==
          WriteOutcome::Kind::kDeferred);
    CHECK(writer.write(entry, WriteOp::kAdd, observed, t0 + 1s).attempts == 2);
    CHECK(writer.pending().begin()->second.next == t0 + 3s);  // 1 s, then 2 s
    kernel.clear_faults();
    outcome = writer.write(entry, WriteOp::kAdd, observed, t0 + 3s);
    CHECK(outcome.kind == WriteOutcome::Kind::kWritten);
    CHECK(outcome.attempts == 3);
    CHECK(writer.pending().empty());
    CHECK(observed.proxies().contains({entry.ifindex, entry.address}));
    CHECK(writer.ledger().since({entry.ifindex, entry.address}) == 1700000000U);
    CHECK(writer.counters().errors == 2);
    CHECK(writer.counters().adds == 1);
  }
  SECTION("without retries: a failure is reported and nothing stays pending") {
    ProxyWriter writer(kernel, Retries::kNone, wall);
    CHECK(writer.write(entry, WriteOp::kAdd, observed, t0).kind == WriteOutcome::Kind::kFailed);
    CHECK(writer.pending().empty());
  }
  SECTION("a retry that is no longer wanted is dropped") {
    ProxyWriter writer(kernel, Retries::kWithBackoff, wall);
    writer.write(entry, WriteOp::kAdd, observed, t0);
    writer.drop_moot(Decision{});  // nothing is wanted now
    CHECK(writer.pending().empty());
  }
}
