// The sysctl journal (what ndpsync found before its first write, per boot) and the removal path
// built on it: `ndpsync cleanup` and `cleanup --purge`, on the fake kernel.
#include "catch2_compat.hpp"

#include "lab.hpp"
#include "ndpsync/cleanup.hpp"
#include "ndpsync/reconcile_once.hpp"
#include "ndpsync/sysctl_journal.hpp"

using namespace ndpsync;
using namespace ndpsync::testing;

namespace {

SysctlKey conf(const char* iface, const char* name) {
  return {SysctlKey::Tree::kConf, iface, name};
}

class MemoryStore final : public JournalStore {
 public:
  Result<std::string> load() override { return {.status = {}, .value = text}; }
  Status save(const std::string& t) override {
    if (fail != 0) return {.error = fail, .message = "EROFS (Read-only file system)"};
    text = t;
    ++saves;
    return {};
  }
  Status erase() override {
    text.clear();
    return {};
  }
  [[nodiscard]] std::string where() const override { return "/var/lib/ndpsync/sysctls-found"; }
  std::string text;
  int saves = 0;
  int fail = 0;
};

// The fake kernel with its sysctl writes journaled, as make_netlink_kernel() builds it.
class JournaledKernel final : public KernelPort {
 public:
  JournaledKernel(FakeKernel& k, JournalStore& store, SysctlJournal journal)
      : k_(k), sysctls_(k, store, std::move(journal)) {}
  Result<Snapshot> dump() override { return k_.dump(); }
  Result<std::vector<ProxyEntry>> dump_proxies() override { return k_.dump_proxies(); }
  Status add_proxy(const ProxyEntry& e) override { return k_.add_proxy(e); }
  Status delete_proxy(const ProxyEntry& e) override { return k_.delete_proxy(e); }
  Status probe_neighbour(IfIndex i, const Ipv6Address& a) override {
    return k_.probe_neighbour(i, a);
  }
  Status delete_neighbour(IfIndex i, const Ipv6Address& a) override {
    return k_.delete_neighbour(i, a);
  }
  Result<std::string> read_sysctl(const SysctlKey& key) override {
    return sysctls_.read_sysctl(key);
  }
  Status write_sysctl(const SysctlKey& key, const std::string& v) override {
    return sysctls_.write_sysctl(key, v);
  }

 private:
  FakeKernel& k_;
  JournaledSysctls sysctls_;
};

// The lab as a fresh boot leaves it: forwarding and proxy_ndp off, accept_ra 1 on eth0.
void boot_lab(FakeKernel& kernel) {
  build_lab(kernel);
  kernel.sysctls[conf("eth0", "accept_ra")] = "1";
  kernel.sysctls[conf("eth0", "proxy_ndp")] = "0";
  kernel.sysctls[conf("eth0", "forwarding")] = "0";
  kernel.sysctls[conf("default", "forwarding")] = "0";
}

}  // namespace

TEST_CASE("the journal reads back what it wrote, and forgets another boot") {
  SysctlJournal journal("boot-a");
  CHECK(journal.note(conf("eth0.100", "accept_ra"), "1", "2"));
  CHECK(journal.note(conf("all", "forwarding"), "0", "1"));
  CHECK(journal.note({SysctlKey::Tree::kNeigh, "eth0", "proxy_delay"}, "80", "0"));
  const auto text = journal.text();
  CHECK(text.find("conf/eth0.100/accept_ra 1 2\n") != std::string::npos);

  const auto same = SysctlJournal::parse(text, "boot-a");
  REQUIRE(same.ok());
  REQUIRE(same.value.entries().size() == 3);
  CHECK(same.value.entries()[0].key == conf("eth0.100", "accept_ra"));
  CHECK(same.value.entries()[2].key.tree == SysctlKey::Tree::kNeigh);
  CHECK_FALSE(same.value.stale_boot());

  // A reboot reset every sysctl: what the file says is no longer true.
  const auto other = SysctlJournal::parse(text, "boot-b");
  REQUIRE(other.ok());
  CHECK(other.value.entries().empty());
  CHECK(other.value.stale_boot() == std::optional<std::string>("boot-a"));

  CHECK(SysctlJournal::parse("", "boot-b").value.entries().empty());
}

TEST_CASE("a malformed journal is an error that names the line") {
  const auto bad = [](const char* text) { return SysctlJournal::parse(text, "b").status.message; };
  CHECK(bad("boot b\nconf/eth0/accept_ra 1\n") ==
        "line 2: not 'PATH FOUND SET': 'conf/eth0/accept_ra 1'");
  CHECK(bad("conf/eth0/accept_ra 1 2\n").find("line 1: an entry before the boot line") == 0);
  CHECK(bad("boot b\nproc/eth0/x 1 2\n").find("line 2: not 'PATH FOUND SET'") == 0);
  CHECK(bad("boot b\nconf/eth0/x 1 2 3\n").find("line 2") == 0);
  CHECK(bad("boot b\nboot c\n").find("line 2: a second or empty boot line") == 0);
}

TEST_CASE("the first value found stays; the value set follows our writes") {
  SysctlJournal journal("b");
  CHECK_FALSE(journal.note(conf("eth0", "proxy_ndp"), "1", "1"));  // nothing changed
  CHECK(journal.entries().empty());
  CHECK(journal.note(conf("eth0", "accept_ra"), "1", "2"));
  CHECK_FALSE(journal.note(conf("eth0", "accept_ra"), "0", "2"));  // someone reset it; same target
  CHECK(journal.note(conf("eth0", "accept_ra"), "2", "1"));
  REQUIRE(journal.entries().size() == 1);
  CHECK(journal.entries()[0].found == "1");
  CHECK(journal.entries()[0].set == "1");
}

TEST_CASE("a write whose found value cannot be recorded is not made") {
  FakeKernel kernel;
  boot_lab(kernel);
  MemoryStore store;
  store.fail = EROFS;
  JournaledSysctls sysctls(kernel, store, SysctlJournal("b"));
  const auto status = sysctls.write_sysctl(conf("all", "forwarding"), "1");
  CHECK(status.error == EROFS);
  CHECK(status.message.find("not written: the value found (0) could not be recorded in "
                            "/var/lib/ndpsync/sysctls-found") == 0);
  CHECK(kernel.sysctls[conf("all", "forwarding")] == "0");
  // A reconcile then fails visibly, and the host keeps its default route.
  JournaledKernel journaled(kernel, store, SysctlJournal("b"));
  const auto report = reconcile_once(journaled, &kernel, Config{});
  CHECK(report.failed());
  CHECK(kernel.has_default_route(kEth0));
}

TEST_CASE("reconcile, cleanup, purge: the host is left as it was found, default route and all") {
  FakeKernel kernel;
  boot_lab(kernel);
  kernel.put_proxy(kEth0, "2001:db8:0:1::99", 3);  // someone else's entry
  const auto before = kernel.sysctls;
  MemoryStore store;
  {
    JournaledKernel journaled(kernel, store, SysctlJournal("b"));
    const auto report = reconcile_once(journaled, &kernel, Config{});
    REQUIRE_FALSE(report.failed());
  }
  REQUIRE(kernel.has_proxy(kEth0, "2001:db8:0:1::1:2"));
  REQUIRE(kernel.sysctls[conf("all", "forwarding")] == "1");
  // Recorded before each first write, in order: accept_ra=2 before forwarding.
  const auto journal = SysctlJournal::parse(store.text, "b");
  REQUIRE(journal.ok());
  CHECK(store.saves == static_cast<int>(journal.value.entries().size()));
  CHECK(journal.value.entries().front().key == conf("eth0", "accept_ra"));
  CHECK(store.text.find("conf/all/forwarding 0 1\n") != std::string::npos);

  SECTION("cleanup removes our entries only, and leaves the sysctls") {
    const auto report = cleanup(kernel, kOwner, nullptr, CleanupMode::kWrite);
    CHECK_FALSE(report.failed());
    CHECK(report.removed.size() == 5);  // three containers and the host's two gateways
    CHECK(report.foreign == 1);
    CHECK(kernel.proxies().size() == 1);
    CHECK(kernel.has_proxy(kEth0, "2001:db8:0:1::99"));
    CHECK(kernel.sysctls[conf("all", "forwarding")] == "1");
  }
  SECTION("purge puts back every sysctl, last write first, and the default route survives") {
    kernel.sysctl_writes.clear();
    const auto report = cleanup(kernel, kOwner, &journal.value, CleanupMode::kWrite);
    CHECK_FALSE(report.failed());
    CHECK(kernel.sysctls == before);
    CHECK(kernel.has_default_route(kEth0));
    REQUIRE_FALSE(kernel.sysctl_writes.empty());
    CHECK(kernel.sysctl_writes.back() == "net.ipv6.conf.eth0.accept_ra=1");
    for (const auto& step : report.sysctls) {
      INFO(step.text());
      CHECK(step.action == RestoreStep::Action::kRestored);
    }
  }
  SECTION("a value someone changed since is left, and said so") {
    kernel.set_sysctl(conf("eth0", "accept_ra"), "0");
    const auto report = cleanup(kernel, kOwner, &journal.value, CleanupMode::kWrite);
    CHECK(kernel.sysctls[conf("eth0", "accept_ra")] == "0");
    CHECK(kernel.sysctls[conf("all", "forwarding")] == "0");
    const auto left = std::find_if(report.sysctls.begin(), report.sysctls.end(), [](auto& s) {
      return s.action == RestoreStep::Action::kChangedSince;
    });
    REQUIRE(left != report.sysctls.end());
    CHECK(left->text() ==
          "net.ipv6.conf.eth0.accept_ra: left at 0: changed since ndpsync set 2 (it found 1)");
  }
  SECTION("a dry run changes nothing and says what it would do") {
    const auto writes = kernel.sysctl_writes.size();
    const auto report = cleanup(kernel, kOwner, &journal.value, CleanupMode::kDryRun);
    CHECK(report.removed.size() == 5);  // three containers and the host's two gateways
    CHECK(kernel.proxies().size() == 6);
    CHECK(kernel.sysctl_writes.size() == writes);
    CHECK(report.sysctls.front().action == RestoreStep::Action::kRestored);
  }
  SECTION("an interface that is gone is said so, and the rest is put back") {
    kernel.fail_sysctl(FakeKernel::Call::kReadSysctl, conf("eth0", "proxy_ndp"), ENOENT);
    const auto report = cleanup(kernel, kOwner, &journal.value, CleanupMode::kWrite);
    CHECK_FALSE(report.failed());
    CHECK(kernel.sysctls[conf("all", "forwarding")] == "0");
    CHECK(std::any_of(report.sysctls.begin(), report.sysctls.end(),
                      [](auto& s) { return s.action == RestoreStep::Action::kGone; }));
  }
}
