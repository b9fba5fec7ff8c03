// The one executor of proxy-table writes. The agent and the one-shot `reconcile` both write through
// a ProxyWriter; the agent's retries failed writes with backoff, the one-shot's reports them.
// The writer also keeps the install ledger: when each entry we own was installed or adopted.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

#include "ndpsync/kernel_port.hpp"
#include "ndpsync/observed_state.hpp"
#include "ndpsync/policy.hpp"

namespace ndpsync {

using SteadyTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;

enum class WriteOp : std::uint8_t { kAdd, kDelete };
std::string_view to_string(WriteOp op);

enum class Retries : std::uint8_t {
  kNone,         // a failed write is reported once (the one-shot command)
  kWithBackoff,  // a failed write stays dirty and is retried, 1 s doubling up to 60 s (the agent)
};

// When each entry we own was installed or adopted, in Unix seconds. A sorted array rather than a
// map: 24 bytes an entry instead of about 64 (docs/benchmarks.md). Notes made during a batch of
// writes go to a short unsorted tail, merged in once per batch (settle()); erased notes are
// marked and compacted once they are an eighth of the array, so erasing stays O(log n).
class InstallLedger {
 public:
  void note(const IfAddressKey& key, std::uint32_t since);
  void erase(const IfAddressKey& key);
  [[nodiscard]] std::optional<std::uint32_t> since(const IfAddressKey& key) const;
  // Merges the tail; call once a batch of writes is done.
  void settle();
  // Drops the notes of entries neither installed as ours nor wanted (a wanted entry the kernel
  // lost keeps its note: it was claimed before, and its re-add is no first claim).
  void prune(const ProxyTable& installed, std::uint8_t owner,
             const std::map<IfAddressKey, Desired>& wanted);
  [[nodiscard]] std::size_t size() const { return sorted_.size() - erased_ + tail_.size(); }

 private:
  struct Note {
    IfAddressKey key;
    std::uint32_t since = 0;
  };
  // Where `key` is or would be in the sorted array.
  [[nodiscard]] std::vector<Note>::const_iterator place(const IfAddressKey& key) const;
  [[nodiscard]] std::vector<Note>::iterator place(const IfAddressKey& key);
  [[nodiscard]] Note* find(const IfAddressKey& key);
  [[nodiscard]] const Note* find(const IfAddressKey& key) const;

  std::vector<Note> sorted_;  // an erased note keeps its place with since 0 until compacted
  std::vector<Note> tail_;
  std::size_t erased_ = 0;
};

struct Retry {
  WriteOp op = WriteOp::kAdd;
  unsigned attempts = 0;
  SteadyTime next;
  Status status;
};

struct WriteOutcome {
  enum class Kind : std::uint8_t {
    kWritten,   // the kernel has it now
    kFailed,    // the kernel refused; with backoff, retried later
    kDeferred,  // an earlier attempt failed and its backoff has not run out: not tried
  };
  Kind kind = Kind::kWritten;
  Status status;          // kFailed: why
  unsigned attempts = 1;  // how many tries it has taken so far
};

struct WriterCounters {
  std::uint64_t adds = 0;
  std::uint64_t removes = 0;
  std::uint64_t errors = 0;
};

class ProxyWriter {
 public:
  using WallClock = std::function<WallTime()>;

  ProxyWriter(NeighbourPort& kernel, Retries retries, WallClock wall);

  // Writes one entry. On success the observed proxy table follows it (the kernel never
  // announces proxy changes) and the ledger notes an add.
  WriteOutcome write(const ProxyEntry& entry, WriteOp op, ObservedState& observed, SteadyTime now);

  // Retries whose operation no longer matches what is wanted are moot.
  void drop_moot(const Decision& decision);
  // At exit (--remove-on-exit): deletes every entry of `proxies` tagged `owner`, each tried now
  // whatever backoff a failed write was in; an entry that stays is logged.
  void remove_all(const std::vector<ProxyEntry>& proxies, std::uint8_t owner,
                  ObservedState& observed, SteadyTime now);

  [[nodiscard]] const std::map<IfAddressKey, Retry>& pending() const { return retries_; }
  [[nodiscard]] const WriterCounters& counters() const { return counters_; }
  [[nodiscard]] InstallLedger& ledger() { return ledger_; }
  [[nodiscard]] const InstallLedger& ledger() const { return ledger_; }

 private:
  NeighbourPort& kernel_;
  Retries retries_policy_;
  WallClock wall_;
  std::map<IfAddressKey, Retry> retries_;
  InstallLedger ledger_;
  WriterCounters counters_;
};

std::uint32_t unix_seconds(WallTime t);

}  // namespace ndpsync
