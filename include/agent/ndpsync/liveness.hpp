// Liveness of neighbour-sourced addresses. A neighbour entry that vanishes (garbage collection, a
// flush) or turns FAILED is not proof that a container left (docs/design.md, "Neighbour states");
// neither is a STALE entry proof that it is still there. Each such neighbour is verified with a
// probe that makes the kernel resolve it; it stays claimed while the verdict is pending and is
// withdrawn only when no confirmation arrives within the liveness timeout. Pure: time is passed in.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "ndpsync/policy.hpp"

namespace ndpsync {

using SteadyTime = std::chrono::steady_clock::time_point;

class Liveness {
 public:
  explicit Liveness(std::chrono::milliseconds timeout) : timeout_(timeout) {}

  void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }

  // A neighbour we claim (or verify) changed state, or vanished (state nullopt). Appends the
  // neighbours to probe now. Returns true when the verdicts changed.
  bool observe(const IfAddressKey& key, std::optional<NudState> state, SteadyTime now,
               std::vector<IfAddressKey>& probe);

  // Something suggests a claimed neighbour may have left although the kernel still trusts it
  // (a port left its bridge): verify it now.
  void suspect(const IfAddressKey& key, SteadyTime now, std::vector<IfAddressKey>& probe);

  // The interface is gone: nothing on it needs verifying any more.
  void forget_interface(IfIndex index);
  // The neighbour was removed on purpose (a PERMANENT entry: garbage collection never takes
  // those): nothing to verify, it is simply gone.
  void forget(const IfAddressKey& key);
  // A probe could not even be sent (the kernel's neighbour table was full): the silence that
  // follows proves nothing, so the neighbour gets a fresh window, a few times at most.
  void postpone(const IfAddressKey& key, SteadyTime now);

  // Expires deadlines and schedules re-probes. Returns true when the verdicts changed.
  bool tick(SteadyTime now, std::vector<IfAddressKey>& probe);

  [[nodiscard]] std::optional<SteadyTime> next_deadline() const;
  [[nodiscard]] LivenessView view() const;

  struct Verifying {
    SteadyTime deadline;
    SteadyTime next_probe;
    unsigned probes = 0;
    unsigned postponed = 0;
  };
  [[nodiscard]] const std::map<IfAddressKey, Verifying>& verifying() const { return verifying_; }
  [[nodiscard]] const std::set<IfAddressKey>& withdrawn() const { return withdrawn_; }

 private:
  void start(const IfAddressKey& key, SteadyTime now, bool probe_now,
             std::vector<IfAddressKey>& probe);
  [[nodiscard]] std::chrono::milliseconds reprobe_interval() const;

  std::chrono::milliseconds timeout_;
  std::map<IfAddressKey, Verifying> verifying_;
  std::set<IfAddressKey> withdrawn_;
};

}  // namespace ndpsync
