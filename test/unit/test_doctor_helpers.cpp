// `doctor`'s helper programs are bounded (doctor.hpp, HelperLimits): stubs in a directory of the
// test's own stand in for nft and ip6tables, one that hangs and one that prints without end.
// doctor must come back in time, name what it stopped, and never look in the caller's PATH.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include "catch2_compat.hpp"

#include "doctor.hpp"
#include "ndpsync/doctor.hpp"

using namespace ndpsync;
using namespace ndpsync::cli;
using namespace std::chrono_literals;

namespace {

struct StubDir {
  std::filesystem::path path;
  StubDir() {
    std::string name = (std::filesystem::temp_directory_path() / "ndpsync-stubs.XXXXXX").string();
    REQUIRE(::mkdtemp(name.data()) != nullptr);
    path = name;
  }
  ~StubDir() { std::filesystem::remove_all(path); }
  StubDir(const StubDir&) = delete;
  StubDir& operator=(const StubDir&) = delete;

  void add(const std::string& name, const std::string& script) const {
    const auto file = path / name;
    std::ofstream(file) << "#!/bin/sh\n" << script << "\n";
    ::chmod(file.c_str(), 0755);
  }
  [[nodiscard]] HelperLimits limits() const {
    return {.directories = {path.string(), "/usr/bin", "/bin"},
            .timeout = 1000ms,
            .max_output = std::size_t{1} << 20};
  }
};

template <typename F>
std::chrono::milliseconds timed(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               t0);
}

}  // namespace

TEST_CASE("doctor helpers: a hung helper is stopped at the deadline, with what it started") {
  StubDir stubs;
  stubs.add("nft", "sleep 30 & echo started; wait");
  HelperRun run;
  const auto took = timed([&] { run = run_helper({"nft", "list", "ruleset"}, stubs.limits()); });
  CHECK(took < 3000ms);
  CHECK_FALSE(run.output);
  CHECK(run.problem == "nft list ruleset: no end within 1000 ms; stopped");
}

TEST_CASE("doctor helpers: a helper that closes its output and hangs is stopped too") {
  StubDir stubs;
  stubs.add("nft", "exec >/dev/null; sleep 30");
  HelperRun run;
  const auto took = timed([&] { run = run_helper({"nft", "list", "ruleset"}, stubs.limits()); });
  CHECK(took < 3000ms);
  CHECK(run.problem == "nft list ruleset: no end within 1000 ms; stopped");
}

TEST_CASE("doctor helpers: a helper that prints megabytes is stopped at the cap") {
  StubDir stubs;
  stubs.add("ip6tables", "yes -- '-A FORWARD -j ACCEPT'");
  HelperRun run;
  const auto took = timed([&] { run = run_helper({"ip6tables", "-S"}, stubs.limits()); });
  CHECK(took < 3000ms);
  CHECK_FALSE(run.output);
  CHECK(run.problem == "ip6tables -S: printed more than 1 MiB; stopped");
}

TEST_CASE("doctor helpers: a fixed PATH and environment, not the caller's") {
  StubDir stubs;
  StubDir elsewhere;  // on the caller's PATH only: must not be found
  elsewhere.add("ndpsync-test-helper", "echo from the caller's PATH");
  stubs.add("ip6tables", "echo \"PATH=$PATH HOME=${HOME:-unset}\"");
  const std::string saved = std::getenv("PATH") != nullptr ? std::getenv("PATH") : "";
  ::setenv("PATH", (elsewhere.path.string() + ":" + saved).c_str(), 1);
  const auto limits = stubs.limits();
  const auto other = run_helper({"ndpsync-test-helper"}, limits);
  const auto env = run_helper({"ip6tables", "-S"}, limits);
  ::setenv("PATH", saved.c_str(), 1);
  CHECK_FALSE(other.output);  // in the caller's PATH, not in limits.directories
  REQUIRE(env.output);
  CHECK(*env.output == "PATH=" + stubs.path.string() + ":/usr/bin:/bin HOME=unset\n");
  // The production list holds no relative or user-writable entry such as "." or ~/bin.
  for (const auto& dir : HelperLimits{}.directories) CHECK(dir.starts_with("/"));
}

TEST_CASE("doctor helpers: a stopped helper is a finding that names it") {
  StubDir stubs;
  stubs.add("nft", "sleep 30");
  stubs.add("ip6tables", "yes");
  HostFacts facts;
  read_firewall(facts, stubs.limits());
  REQUIRE(facts.helper_problems.size() == 2);
  const auto diagnosis = diagnose(facts);
  int found = 0;
  for (const auto& finding : diagnosis.findings) {
    if (finding.check != "helper-programs") continue;
    ++found;
    CHECK((finding.problem.starts_with("ip6tables -S: printed more than 1 MiB; stopped") ||
           finding.problem.starts_with("nft list ruleset: no end within 1000 ms; stopped")));
  }
  CHECK(found == 2);
}
