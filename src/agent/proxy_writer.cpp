#include "ndpsync/proxy_writer.hpp"

#include <algorithm>
#include <limits>

#include <spdlog/spdlog.h>

namespace ndpsync {
namespace {

constexpr auto kMaxBackoff = std::chrono::seconds(60);
// A batch's notes are merged into the sorted array once the tail holds this many, or at the
// batch's end: lookups scan the tail, so it stays short.
constexpr std::size_t kTailLimit = 64;

}  // namespace

std::string_view to_string(WriteOp op) { return op == WriteOp::kAdd ? "add" : "delete"; }

std::uint32_t unix_seconds(WallTime t) {
  const auto seconds = std::chrono::system_clock::to_time_t(t);
  return static_cast<std::uint32_t>(
      std::clamp<std::time_t>(seconds, 1, std::numeric_limits<std::uint32_t>::max()));
}

std::vector<InstallLedger::Note>::const_iterator InstallLedger::place(
    const IfAddressKey& key) const {
  return std::lower_bound(sorted_.begin(), sorted_.end(), key,
                          [](const Note& n, const IfAddressKey& k) { return n.key < k; });
}

std::vector<InstallLedger::Note>::iterator InstallLedger::place(const IfAddressKey& key) {
  return std::lower_bound(sorted_.begin(), sorted_.end(), key,
                          [](const Note& n, const IfAddressKey& k) { return n.key < k; });
}

InstallLedger::Note* InstallLedger::find(const IfAddressKey& key) {
  return const_cast<Note*>(std::as_const(*this).find(key));
}

const InstallLedger::Note* InstallLedger::find(const IfAddressKey& key) const {
  const auto it = place(key);
  if (it != sorted_.end() && it->key == key) return it->since != 0 ? &*it : nullptr;
  const auto tail =
      std::find_if(tail_.begin(), tail_.end(), [&key](const Note& n) { return n.key == key; });
  return tail != tail_.end() ? &*tail : nullptr;
}

void InstallLedger::note(const IfAddressKey& key, std::uint32_t since) {
  if (auto* existing = find(key)) {
    existing->since = since;
    return;
  }
  const auto it = place(key);
  if (it != sorted_.end() && it->key == key) {  // erased before: its place is still there
    it->since = since;
    --erased_;
    return;
  }
  tail_.push_back({key, since});
  if (tail_.size() >= kTailLimit) settle();
}

void InstallLedger::erase(const IfAddressKey& key) {
  const auto on_key = [&key](const Note& n) { return n.key == key; };
  std::erase_if(tail_, on_key);
  const auto it = place(key);
  if (it != sorted_.end() && it->key == key && it->since != 0) {
    it->since = 0;
    ++erased_;
  }
}

std::optional<std::uint32_t> InstallLedger::since(const IfAddressKey& key) const {
  const auto* note = find(key);
  return note != nullptr ? std::optional(note->since) : std::nullopt;
}

void InstallLedger::settle() {
  if (erased_ > sorted_.size() / 8) {
    std::erase_if(sorted_, [](const Note& n) { return n.since == 0; });
    erased_ = 0;
  }
  if (tail_.empty()) return;
  std::sort(tail_.begin(), tail_.end(), [](const Note& a, const Note& b) { return a.key < b.key; });
  // Merged from the back, in place: no temporary buffer, and the array grows by an eighth at a
  // time rather than doubling (a burst of 10,000 new entries would leave 240 KB of slack).
  const auto needed = sorted_.size() + tail_.size();
  if (needed > sorted_.capacity()) sorted_.reserve(needed + needed / 8);
  auto i = sorted_.size();
  auto j = tail_.size();
  sorted_.resize(needed);
  for (auto k = needed; j > 0;) {
    if (i > 0 && tail_[j - 1].key < sorted_[i - 1].key) {
      sorted_[--k] = sorted_[--i];
    } else {
      sorted_[--k] = tail_[--j];
    }
  }
  tail_.clear();
}

void InstallLedger::prune(const ProxyTable& installed, std::uint8_t owner,
                          const std::map<IfAddressKey, Desired>& wanted) {
  settle();
  std::erase_if(sorted_, [&](const Note& n) {
    if (n.since == 0) return true;
    const auto it = installed.find(n.key);
    return (it == installed.end() || it->second != owner) && !wanted.contains(n.key);
  });
  erased_ = 0;
  sorted_.shrink_to_fit();
}

ProxyWriter::ProxyWriter(NeighbourPort& kernel, Retries retries, WallClock wall)
    : kernel_(kernel), retries_policy_(retries), wall_(std::move(wall)) {}

WriteOutcome ProxyWriter::write(const ProxyEntry& entry, WriteOp op, ObservedState& observed,
                                SteadyTime now) {
  const IfAddressKey key{entry.ifindex, entry.address};
  const auto retry = retries_.find(key);
  if (retry != retries_.end() && now < retry->second.next) {
    return {.kind = WriteOutcome::Kind::kDeferred, .attempts = retry->second.attempts};
  }
  const auto status = op == WriteOp::kAdd ? kernel_.add_proxy(entry) : kernel_.delete_proxy(entry);
  if (!status.ok()) {
    ++counters_.errors;
    if (retries_policy_ == Retries::kNone) {
      return {.kind = WriteOutcome::Kind::kFailed, .status = status};
    }
    auto& r = retries_[key];
    r.op = op;
    ++r.attempts;
    r.next = now + std::min<std::chrono::milliseconds>(
                       std::chrono::seconds(1) * (1U << std::min(r.attempts - 1, 6U)), kMaxBackoff);
    r.status = status;
    return {.kind = WriteOutcome::Kind::kFailed, .status = status, .attempts = r.attempts};
  }
  unsigned attempts = 1;
  if (retry != retries_.end()) {
    attempts = retry->second.attempts + 1;
    retries_.erase(retry);
  }
  if (op == WriteOp::kAdd) {
    ++counters_.adds;
    observed.note_proxy_added(entry);
    ledger_.note(key, unix_seconds(wall_()));
  } else {
    ++counters_.removes;
    observed.note_proxy_removed(entry);
    ledger_.erase(key);
  }
  return {.kind = WriteOutcome::Kind::kWritten, .attempts = attempts};
}

void ProxyWriter::drop_moot(const Decision& decision) {
  std::erase_if(retries_, [&](const auto& item) {
    return (item.second.op == WriteOp::kAdd) != decision.desired.contains(item.first);
  });
}

void ProxyWriter::remove_all(const std::vector<ProxyEntry>& proxies, std::uint8_t owner,
                             ObservedState& observed, SteadyTime now) {
  retries_.clear();  // the last chance: no backoff
  for (const auto& entry : proxies) {
    if (entry.protocol != owner) continue;
    const auto outcome = write(entry, WriteOp::kDelete, observed, now);
    if (outcome.kind != WriteOutcome::Kind::kWritten) {
      spdlog::error("left {} on {}: {}", entry.address.to_string(),
                    observed.link_name(entry.ifindex), outcome.status.message);
    }
  }
}

}  // namespace ndpsync
