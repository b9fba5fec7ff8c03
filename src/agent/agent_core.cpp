#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <limits>

#include "ndpsync/agent.hpp"
#include "ndpsync/report.hpp"

namespace ndpsync {
namespace {

constexpr auto kMaxBackoff = std::chrono::seconds(60);
constexpr auto kCapWarningInterval = std::chrono::seconds(60);
constexpr std::size_t kProbeBurst = 128;
constexpr auto kProbeInterval = std::chrono::milliseconds(100);
constexpr auto kMalformedResyncGap = std::chrono::seconds(1);

std::uint32_t unix_seconds(std::chrono::system_clock::time_point t) {
  const auto seconds = std::chrono::system_clock::to_time_t(t);
  return static_cast<std::uint32_t>(
      std::clamp<std::time_t>(seconds, 1, std::numeric_limits<std::uint32_t>::max()));
}

std::string iso_time(std::chrono::system_clock::time_point t) {
  const auto seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  std::array<char, 32> text{};
  std::strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text.data();
}

double seconds_until(SteadyTime then, SteadyTime now) {
  return std::chrono::duration<double>(then - now).count();
}

}  // namespace

std::string_view to_string(ResyncReason reason) {
  switch (reason) {
    case ResyncReason::kStart: return "start";
    case ResyncReason::kPeriodic: return "periodic";
    case ResyncReason::kOverrun: return "overrun";
    case ResyncReason::kMalformed: return "malformed event";
    case ResyncReason::kReload: return "reload";
  }
  return "unknown";
}

AgentCore::AgentCore(Config config, KernelPort& kernel, WallClock wall)
    : config_(std::move(config)),
      kernel_(kernel),
      wall_(std::move(wall)),
      liveness_(config_.liveness_timeout),
      started_(wall_()) {}

Status AgentCore::resync(SteadyTime now, ResyncReason reason) {
  auto snapshot = kernel_.dump();
  if (!snapshot.ok()) {
    ++counters_.errors;
    spdlog::warn("resync ({}): {}", to_string(reason), snapshot.status.message);
    return snapshot.status;
  }
  // The states our claimed neighbours had, before the dump replaces what we knew.
  std::vector<std::pair<IfAddressKey, std::uint16_t>> claimed;
  for (const auto& source : claimed_neighbours()) {
    const auto it = observed_.neighbours().find(source);
    const std::uint16_t state = it != observed_.neighbours().end() ? it->second.state : 0;
    claimed.emplace_back(source, state);
  }
  observed_.replace(std::move(snapshot.value));
  // A claimed neighbour missing from the dump vanished while we were not looking (an overrun,
  // garbage collection): verify it like one whose deletion we saw; a static one was removed on
  // purpose.
  if (config_.verify_neighbours) {
    std::vector<IfAddressKey> probe;
    for (const auto& [source, state] : claimed) {
      if (observed_.link(source.first) == nullptr || observed_.neighbours().contains(source)) {
        continue;
      }
      if ((state & (kNudPermanent | kNudNoArp)) != 0) {
        liveness_.forget(source);
      } else {
        liveness_.observe(source, std::nullopt, now, probe);
      }
    }
    send_probes(probe, now);
  }
  ++counters_.resyncs;
  if (reason == ResyncReason::kOverrun) {
    ++counters_.overruns;
  }
  last_resync_ = wall_();
  // The kernel may have changed anything while we were not looking: sysctls too.
  sysctl_uplinks_.clear();
  warned_missing_.clear();  // warned again at every resync while they are missing
  if (reason == ResyncReason::kStart) {
    verify_orphans(now);
  }
  structural_ = true;
  reconcile(now);
  if (reason != ResyncReason::kPeriodic || config_.verify_neighbours) {
    verify_unconfirmed(now);
  }
  spdlog::debug("resync ({}): {} entries", to_string(reason), decision_.desired.size());
  return {};
}

// Claimed neighbours the kernel does not vouch for right now get verified. Events catch the
// transitions; this catches what a dump reveals (start, overrun, periodic backstop).
void AgentCore::verify_unconfirmed(SteadyTime now) {
  if (!config_.verify_neighbours) {
    return;
  }
  std::vector<IfAddressKey> probe;
  for (const auto& source : claimed_neighbours()) {
    const auto it = observed_.neighbours().find(source);
    if (it != observed_.neighbours().end() && (it->second.state & kNudConfirmed) == 0 &&
        !liveness_.withdrawn().contains(source)) {
      liveness_.observe(source, it->second.state, now, probe);
    }
  }
  send_probes(probe, now);
}

std::vector<IfAddressKey> AgentCore::claimed_neighbours() const {
  std::vector<IfAddressKey> sources;
  for (const auto& [key, desired] : decision_.desired) {
    if (desired.source == Source::kNeighbour)
      sources.emplace_back(desired.source_ifindex, key.second);
  }
  if (decision_.uplinks.size() > 1) {  // an address has an entry on each uplink that covers it
    std::sort(sources.begin(), sources.end());
    sources.erase(std::unique(sources.begin(), sources.end()), sources.end());
  }
  return sources;
}

// Entries a previous run installed whose source is gone now (a neighbour entry vanished while
// no agent was running) are verified like any vanished neighbour, on the downstream interface
// whose on-link prefix covers them, rather than withdrawn unseen: the container may be idle.
void AgentCore::verify_orphans(SteadyTime now) {
  if (!config_.verify_neighbours) {
    return;
  }
  const auto d = decide(config_, observed_, liveness_.view(), memory_);
  std::vector<IfAddressKey> probe;
  for (const auto& [key, protocol] : observed_.proxies()) {
    if (protocol != config_.owner_protocol || d.desired.contains(key) ||
        d.uplink(key.first) == nullptr) {
      continue;
    }
    for (const auto& [where, address] : observed_.addresses()) {
      const bool downstream =
          std::binary_search(d.downstream.begin(), d.downstream.end(), where.first);
      if (downstream && address.prefix_length < 128 &&
          Prefix(address.address, address.prefix_length).contains(key.second)) {
        liveness_.observe({where.first, key.second}, std::nullopt, now, probe);
        break;
      }
    }
  }
  send_probes(probe, now);
}

bool AgentCore::is_tracked(const IfAddressKey& source) const {
  const auto* claim = decision_.claim(source.second);
  const bool claimed = claim != nullptr && claim->source == Source::kNeighbour &&
                       claim->source_ifindex == source.first;
  return claimed || liveness_.verifying().contains(source) ||
         liveness_.withdrawn().contains(source);
}

void AgentCore::suspect_bridge(IfIndex bridge, SteadyTime now, std::vector<IfAddressKey>& probe) {
  for (const auto& source : claimed_neighbours()) {
    if (source.first == bridge) {
      liveness_.suspect(source, now, probe);
    }
  }
}

// Events that change only downstream addresses and neighbours are judged address by address;
// anything else (links, routes, the uplinks' own state, proxy entries) needs a full decide.
void AgentCore::classify(const KernelEvent& event) {
  const auto downstream = [this](IfIndex index) {
    return std::binary_search(decision_.downstream.begin(), decision_.downstream.end(), index);
  };
  if (const auto* n = std::get_if<NeighbourEvent>(&event)) {
    // On an uplink, link-local and multicast entries (the router's fe80 entry cycling
    // REACHABLE/STALE every few seconds) never change a decision: a candidate with such an
    // address is refused by class first. Multicast groups' NOARP entries are never candidates.
    const auto& address = n->neighbour.address;
    const bool on_uplink = decision_.uplink(n->neighbour.ifindex) != nullptr;
    if (address.is_multicast() || (on_uplink && address.is_link_local())) {
      return;
    }
    if (on_uplink) {
      // Its only effect: whether the address is a router or another node's, never claimed.
      uplink_touched_.insert(address);
      touched_.insert(address);
    } else if (downstream(n->neighbour.ifindex)) {
      touched_.insert(n->neighbour.address);
    }
  } else if (const auto* a = std::get_if<AddressEvent>(&event)) {
    if (decision_.uplink(a->address.ifindex) != nullptr) {
      structural_ = true;
    } else if (downstream(a->address.ifindex)) {
      touched_.insert(a->address.address);
    }
  } else if (const auto* r = std::get_if<RouteEvent>(&event)) {
    // Default routes pick the uplinks; routes on an uplink give prefixes and routers.
    if (r->route.is_default() || decision_.uplink(r->route.oif) != nullptr) {
      structural_ = true;
    }
  } else {
    structural_ = true;
  }
}

void AgentCore::on_drained(const std::vector<KernelEvent>& events, EventSource::Drain result,
                           SteadyTime now, std::string_view error) {
  on_events(events, now);
  switch (result) {
    case EventSource::Drain::kIdle: reconcile(now); return;
    case EventSource::Drain::kMalformed:
      // A message we could not parse said something we do not know: never guess, re-read. At
      // most once a second: a kernel that kept sending such messages must not keep the agent
      // dumping; the periodic resync catches up then.
      ++counters_.malformed;
      if (last_malformed_resync_ && now - *last_malformed_resync_ < kMalformedResyncGap) {
        spdlog::debug("netlink event socket: {}", error);
        reconcile(now);
        return;
      }
      last_malformed_resync_ = now;
      spdlog::warn("netlink event socket: {}; re-reading the kernel state", error);
      if (!resync(now, ResyncReason::kMalformed).ok()) reconcile(now);
      return;
    case EventSource::Drain::kOverrun:
    case EventSource::Drain::kError:
      // Events were lost (ENOBUFS) or the socket failed: what we hold may be wrong. The events
      // we did get are already applied; the dump replaces them with the truth. If the dump
      // fails, act on what we did get.
      spdlog::warn("netlink event socket {}: re-reading the kernel state",
                   result == EventSource::Drain::kOverrun ? "overrun" : "error");
      if (!resync(now, ResyncReason::kOverrun).ok()) reconcile(now);
      return;
  }
}

void AgentCore::on_events(const std::vector<KernelEvent>& events, SteadyTime now) {
  std::vector<IfAddressKey> probe;
  for (const auto& event : events) {
    ++counters_.events;
    if (const auto* n = std::get_if<NeighbourEvent>(&event)) {
      const IfAddressKey key{n->neighbour.ifindex, n->neighbour.address};
      const auto before = observed_.neighbours().find(key);
      const bool deliberate = n->change == Change::kDel && before != observed_.neighbours().end() &&
                              (before->second.state & (kNudPermanent | kNudNoArp)) != 0;
      if (deliberate) {
        liveness_.forget(key);  // an admin removed a static entry: gone, nothing to verify
      } else if (config_.verify_neighbours && is_tracked(key)) {
        std::optional<std::uint16_t> state;
        if (n->change == Change::kNew) state = n->neighbour.state;
        if (liveness_.observe(key, state, now, probe)) touched_.insert(key.second);
      }
      spdlog::trace("neighbour {} {} on {}: {}", n->change == Change::kNew ? "new" : "del",
                    n->neighbour.address.to_string(), n->neighbour.ifindex,
                    nud_state_name(n->neighbour.state));
    } else if (const auto* l = std::get_if<LinkEvent>(&event)) {
      const auto* before = observed_.link(l->link.index);
      // A port leaving its bridge usually means a container stopped; the bridge's neighbour
      // entry for it lingers, so verify everything claimed on that bridge now.
      if (before != nullptr && before->master != 0 &&
          (l->change == Change::kDel || l->link.master != before->master)) {
        suspect_bridge(before->master, now, probe);
      }
      if (l->change == Change::kDel) {
        liveness_.forget_interface(l->link.index);
      }
      // An uplink that changes name or comes back needs its sysctls checked.
      if (decision_.uplink(l->link.index) != nullptr || l->change == Change::kNew) {
        sysctl_uplinks_.clear();
      }
      spdlog::debug("link {} {} ({})", l->change == Change::kNew ? "new" : "del", l->link.name,
                    l->link.index);
    }
    if (observed_.apply(event)) classify(event);
  }
  send_probes(probe, now);
}

// Probes go out in bursts: each one may create a neighbour entry, and the kernel's table limit
// (gc_thresh3) is shared by every namespace. A mass deletion must not fill it with our probes.
void AgentCore::send_probes(const std::vector<IfAddressKey>& probe, SteadyTime now) {
  for (const auto& key : probe) {
    if (queued_probes_.insert(key).second) probe_queue_.push_back(key);
  }
  if (!next_probe_burst_ || now >= *next_probe_burst_) {
    flush_probes(now);
  }
}

void AgentCore::flush_probes(SteadyTime now) {
  for (std::size_t sent = 0; sent < kProbeBurst && !probe_queue_.empty(); ++sent) {
    const auto key = probe_queue_.front();
    probe_queue_.pop_front();
    queued_probes_.erase(key);
    ++counters_.probes;
    const auto claim = claim_probes_.find(key);
    const auto status = kernel_.probe_neighbour(key.first, key.second);
    if (!status.ok()) {
      spdlog::debug("{}", status.message);
      if (status.error == ENOBUFS || status.error == EAGAIN) {
        liveness_.postpone(key, now);
      }
    }
    if (claim != claim_probes_.end()) {
      // The wait starts now that the solicitation is out (the kernel retries it on its own).
      ++counters_.uplink_probes;
      claim->second = now + config_.uplink_probe;
    }
  }
  next_probe_burst_ =
      probe_queue_.empty() ? std::nullopt : std::optional<SteadyTime>(now + kProbeInterval);
}

void AgentCore::sync_sysctls(bool at_start) {
  std::set<std::pair<IfIndex, std::string>> uplinks;
  for (const auto& u : decision_.uplinks) {
    uplinks.emplace(u.index, u.name);
  }
  if (uplinks == sysctl_uplinks_ && !at_start) {
    return;
  }
  std::vector<Failure> failures;
  sysctls_ = ::ndpsync::sync_sysctls(kernel_, config_, observed_, decision_.uplinks,
                                     SysctlMode::kWrite, failures);
  for (const auto& s : sysctls_) {
    first_found_.try_emplace(s.key, s.found);
    if (!s.set.empty() && s.status.ok()) {
      // A key we had already brought into line was changed by someone else (a `networking
      // restart`, an admin): say so, once per repair.
      const bool repair = settled_.contains(s.key);
      spdlog::info("sysctl {}: {} -> {} ({}){}", s.key.to_string(), s.found, s.set, s.reason,
                   repair ? "; it had been changed behind our back" : "");
      if (repair) ++counters_.sysctl_repairs;
    }
    if (s.status.ok()) settled_.insert(s.key);
  }
  for (const auto& f : failures) {
    ++counters_.errors;
    spdlog::error("{}: {}", f.target, f.status.message);
  }
  sysctl_uplinks_ = failures.empty() ? uplinks : decltype(uplinks){};
}

void AgentCore::warn_missing_uplinks() {
  if (decision_.missing_uplinks == warned_missing_) return;
  for (const auto& name : decision_.missing_uplinks) {
    spdlog::warn("uplink {}: configured but not present (a typo?); nothing is proxied on it", name);
  }
  warned_missing_ = decision_.missing_uplinks;
}

std::string AgentCore::removal_reason(const ProxyEntry& entry) const {
  for (const auto& s : decision_.skipped) {
    if (s.address == entry.address)
      return std::string("now refused: ") + std::string(to_string(s.reason));
  }
  for (const auto& key : liveness_.withdrawn()) {
    if (key.second == entry.address) return "did not answer probes within the liveness timeout";
  }
  if (decision_.uplink(entry.ifindex) == nullptr) return "no longer on an uplink";
  return "no longer present downstream";
}

void AgentCore::write(const ProxyEntry& entry, bool add, SteadyTime now) {
  const IfAddressKey key{entry.ifindex, entry.address};
  if (const auto it = retries_.find(key); it != retries_.end() && now < it->second.next) {
    return;  // backing off
  }
  const auto status = add ? kernel_.add_proxy(entry) : kernel_.delete_proxy(entry);
  const auto uplink = observed_.link(entry.ifindex) != nullptr ? observed_.link(entry.ifindex)->name
                                                               : std::to_string(entry.ifindex);
  if (!status.ok()) {
    auto& retry = retries_[key];
    retry.operation = add ? "add" : "delete";
    ++retry.attempts;
    const auto backoff = std::min<std::chrono::milliseconds>(
        std::chrono::seconds(1) * (1U << std::min(retry.attempts - 1, 6U)), kMaxBackoff);
    retry.next = now + backoff;
    retry.status = status;
    ++counters_.errors;
    if (retry.attempts == 1) {
      spdlog::warn("{} (on {}); retrying with backoff", status.message, uplink);
    }
    return;
  }
  if (const auto it = retries_.find(key); it != retries_.end()) {
    spdlog::info("{} {} on {} succeeded after {} attempts", add ? "add" : "delete",
                 entry.address.to_string(), uplink, it->second.attempts + 1);
    retries_.erase(it);
  }
  if (add) {
    ++counters_.adds;
    observed_.note_proxy_added(entry);
    auto& desired = decision_.desired.at(key);
    desired.since = unix_seconds(wall_());
    const auto* source = observed_.link(desired.source_ifindex);
    spdlog::info("proxying {} on {} ({} on {})", entry.address.to_string(), uplink,
                 to_string(desired.source), source != nullptr ? source->name : "?");
  } else {
    ++counters_.removes;
    observed_.note_proxy_removed(entry);
    parked_since_.erase(key);
    spdlog::info("withdrew {} from {}: {}", entry.address.to_string(), uplink,
                 removal_reason(entry));
  }
}

bool AgentCore::installed_ours(const IfAddressKey& key) const {
  const auto it = observed_.proxies().find(key);
  return it != observed_.proxies().end() && it->second == config_.owner_protocol;
}

// Puts a `since` note back on its entry; an entry no longer wanted but still installed (a held
// uplink, a delete being retried) keeps it aside until it is wanted again or gone.
void AgentCore::note_since(const IfAddressKey& key, std::uint32_t since) {
  if (const auto it = decision_.desired.find(key); it != decision_.desired.end()) {
    it->second.since = since;
  } else if (installed_ours(key)) {
    parked_since_[key] = since;
  }
}

// The same for a whole previous decision, after a full decide(). Both maps are sorted by key,
// so one pass carries the notes over.
void AgentCore::carry_since(const std::map<IfAddressKey, Desired>& previous) {
  auto to = decision_.desired.begin();
  for (const auto& [key, old] : previous) {
    if (old.since == 0) continue;
    while (to != decision_.desired.end() && to->first < key) ++to;
    if (to != decision_.desired.end() && to->first == key) {
      to->second.since = old.since;
    } else if (installed_ours(key)) {
      parked_since_[key] = old.since;
    }
  }
}

// With uplink_probe, an address's first claim (not installed, never claimed in this life) waits
// until the kernel has solicited it on the uplink and nobody answered: a node that does becomes
// an uplink neighbour and policy refuses the address before the wait ends.
bool AgentCore::claim_cleared(const ProxyEntry& entry, SteadyTime now) {
  const IfAddressKey key{entry.ifindex, entry.address};
  if (config_.uplink_probe.count() == 0 || decision_.desired.at(key).since != 0) {
    return true;
  }
  if (const auto it = claim_probes_.find(key); it != claim_probes_.end()) {
    if (now < it->second) return false;  // still waiting
    claim_probes_.erase(it);
    return true;
  }
  spdlog::debug("asking {} whether another node uses {} before claiming it",
                observed_.link(key.first) != nullptr ? observed_.link(key.first)->name : "?",
                entry.address.to_string());
  claim_probes_.emplace(key, SteadyTime::max());
  send_probes({key}, now);
  return false;
}

void AgentCore::reconcile(SteadyTime now) {
  if (!structural_ && touched_.empty()) {
    return;
  }
  ++counters_.reconciles;
  const auto liveness = liveness_.view();
  Plan plan;
  // Re-judging an address re-creates its entries without the agent's `since` note: keep the
  // notes of the touched addresses aside.
  std::map<IfAddressKey, std::uint32_t> noted;
  for (const auto& address : touched_) {
    for (const auto& uplink : decision_.uplinks) {
      if (const auto it = decision_.desired.find({uplink.index, address});
          it != decision_.desired.end() && it->second.since != 0) {
        noted.emplace(it->first, it->second.since);
      }
    }
  }
  for (const auto& address : uplink_touched_) {
    refresh_uplink_side(decision_, observed_, address);
  }
  uplink_touched_.clear();
  if (!structural_ && redecide(decision_, config_, observed_, liveness, touched_)) {
    // The common case: a few containers came or went. Work in proportion to the change.
    for (const auto& [key, since] : noted) note_since(key, since);
    plan = ::ndpsync::reconcile(decision_, observed_.proxies(), config_.owner_protocol, touched_);
    log_refusals(now, &touched_);
  } else {
    ++counters_.full_reconciles;
    auto previous = std::exchange(decision_, decide(config_, observed_, liveness, memory_)).desired;
    // A redecide that gave up (a cap) had re-created some entries without their note.
    for (const auto& [key, since] : noted) previous[key].since = since;
    carry_since(previous);
    for (const auto& uplink : decision_.uplinks) {
      if (config_.uplinks.empty()) memory_.uplinks.insert(uplink.name);
      if (!uplink.remembered && !uplink.prefixes.empty()) {
        memory_.prefixes[uplink.name] = uplink.prefixes;
      }
    }
    plan = ::ndpsync::reconcile(decision_, observed_.proxies(), config_.owner_protocol);
    log_refusals(now, nullptr);
    warn_missing_uplinks();
    sync_sysctls(false);
    std::erase_if(parked_since_, [&](const auto& item) {
      return !installed_ours(item.first) || decision_.desired.contains(item.first);
    });
  }
  // Installed entries without a note: wanted again after a while unwanted, or adopted (from a
  // past run at start, else from whoever added an entry with our tag).
  for (const auto& entry : plan.keep) {
    const IfAddressKey key{entry.ifindex, entry.address};
    auto& since = decision_.desired.at(key).since;
    if (since != 0) continue;
    if (const auto it = parked_since_.find(key); it != parked_since_.end()) {
      since = it->second;
      parked_since_.erase(it);
    } else {
      since = unix_seconds(reconciled_once_ ? wall_() : started_);
    }
  }
  reconciled_once_ = true;
  structural_ = false;
  touched_.clear();
  for (const auto& entry : plan.remove) write(entry, /*add=*/false, now);
  // Probes for claims no longer wanted are moot (another node answered, the container left).
  std::erase_if(claim_probes_, [&](const auto& item) {
    return !decision_.desired.contains(item.first) || observed_.proxies().contains(item.first);
  });
  for (const auto& entry : plan.add) {
    if (claim_cleared(entry, now)) write(entry, /*add=*/true, now);
  }
  // Retries whose entry is no longer wanted (or no longer unwanted) are moot.
  std::erase_if(retries_, [&](const auto& item) {
    const bool wanted = decision_.desired.contains(item.first);
    return (item.second.operation == "add") != wanted;
  });
}

// Each refusal is logged once while it lasts (it is logged again if it comes back later); the
// cap, which a flooding container can hit thousands of times, is summarised at most once a
// minute.
void AgentCore::log_refusals(SteadyTime now, const std::set<Ipv6Address>* only) {
  std::set<Skipped> current;
  if (only != nullptr) {
    // Incremental: the refusals of other addresses stand as they were.
    current = logged_skips_;
    std::erase_if(current, [only](const Skipped& s) { return only->contains(s.address); });
  }
  std::size_t capped = 0;
  const Skipped* first_capped = nullptr;
  const auto consider = [&](const Skipped& s) {
    if (s.reason == SkipReason::kCap) {
      if (first_capped == nullptr) first_capped = &s;
      ++capped;
      return;
    }
    if (s.reason == SkipReason::kLinkLocal || s.reason == SkipReason::kMulticast) return;
    current.insert(s);
    if (!logged_skips_.contains(s)) {
      const auto* link = observed_.link(s.ifindex);
      spdlog::info("not proxying {} seen on {}: {}", s.address.to_string(),
                   link != nullptr ? link->name : "?", to_string(s.reason));
    }
  };
  if (only != nullptr) {
    for (const auto& address : *only) {
      auto it = decision_.skipped.lower_bound(
          {address, std::numeric_limits<IfIndex>::min(), SkipReason::kLinkLocal});
      for (; it != decision_.skipped.end() && it->address == address; ++it) consider(*it);
    }
  } else {
    for (const auto& s : decision_.skipped) consider(s);
  }
  logged_skips_ = std::move(current);
  if (only == nullptr) counters_.capped = capped;
  if (capped > 0 && (!last_cap_warning_ || now - *last_cap_warning_ >= kCapWarningInterval)) {
    last_cap_warning_ = now;
    const auto* link = observed_.link(first_capped->ifindex);
    spdlog::warn(
        "{} address{} over the cap (max_entries {}, max_entries_per_interface {}) not proxied, "
        "e.g. {} on {}",
        capped, capped == 1 ? "" : "es", config_.max_entries, config_.max_entries_per_interface,
        first_capped->address.to_string(), link != nullptr ? link->name : "?");
  }
}

void AgentCore::tick(SteadyTime now) {
  std::vector<IfAddressKey> probe;
  const auto before = liveness_.withdrawn().size();
  if (liveness_.tick(now, probe)) {
    counters_.withdrawals +=
        liveness_.withdrawn().size() > before ? liveness_.withdrawn().size() - before : 0;
    structural_ = true;  // rare: a verdict; judge everything again
  }
  send_probes(probe, now);  // also sends the next burst when one is due
  for (const auto& [key, retry] : retries_) {
    if (now >= retry.next) touched_.insert(key.second);
  }
  for (const auto& [key, until] : claim_probes_) {
    if (now >= until) touched_.insert(key.second);
  }
  reconcile(now);
}

std::optional<SteadyTime> AgentCore::next_wakeup() const {
  auto next = liveness_.next_deadline();
  if (next_probe_burst_ && (!next || *next_probe_burst_ < *next)) next = next_probe_burst_;
  for (const auto& [key, retry] : retries_) {
    if (!next || retry.next < *next) next = retry.next;
  }
  for (const auto& [key, until] : claim_probes_) {
    if (until != SteadyTime::max() && (!next || until < *next)) next = until;
  }
  return next;
}

void AgentCore::reload(Config config, SteadyTime now) {
  config_ = std::move(config);
  liveness_.set_timeout(config_.liveness_timeout);
  ++counters_.reloads;
  logged_skips_.clear();
  structural_ = true;
  spdlog::info("config reloaded");
  resync(now, ResyncReason::kReload);
}

void AgentCore::remove_owned() {
  auto proxies = kernel_.dump_proxies();
  if (!proxies.ok()) {
    spdlog::error("cannot list proxy entries to remove them: {}", proxies.status.message);
    return;
  }
  for (const auto& entry : proxies.value) {
    if (entry.protocol == config_.owner_protocol) {
      const auto status = kernel_.delete_proxy(entry);
      if (status.ok()) {
        ++counters_.removes;
      } else {
        spdlog::error("{}", status.message);
      }
    }
  }
}

std::string AgentCore::summary() const {
  std::string uplinks;
  for (const auto& u : decision_.uplinks) uplinks += (uplinks.empty() ? "" : ",") + u.name;
  return std::to_string(decision_.desired.size()) + " entries on " +
         (uplinks.empty() ? "no uplink" : uplinks) + ", " +
         std::to_string(liveness_.verifying().size()) + " verifying, " +
         std::to_string(retries_.size()) + " pending";
}

template <typename Visit>
void AgentCore::for_each_entry(const Names& names, Visit&& visit) const {
  for (const auto& [key, desired] : decision_.desired) {
    if (!observed_.proxies().contains(key)) continue;  // not installed (yet)
    nlohmann::json item = {{"address", key.second.to_string()},
                           {"uplink", name_of(names, key.first)},
                           {"source", to_string(desired.source)},
                           {"interface", name_of(names, desired.source_ifindex)}};
    if (desired.since != 0) {
      item["since"] = iso_time(std::chrono::system_clock::from_time_t(desired.since));
    }
    if (liveness_.verifying().contains({desired.source_ifindex, key.second})) {
      item["verifying"] = true;
    }
    visit(std::move(item));
  }
}

nlohmann::json AgentCore::status(SteadyTime now) const {
  const auto names = link_names();
  auto document = status_document(now, names);
  auto& entries = document["entries"];
  for_each_entry(names, [&](nlohmann::json&& item) { entries.push_back(std::move(item)); });
  return document;
}

// The same document, rendered entry by entry: at 10,000 entries a whole tree of them would
// take ~20 MB for a moment; this takes the text and one entry at a time.
std::string AgentCore::status_text(SteadyTime now) const {
  const auto names = link_names();
  const auto document = status_document(now, names);
  std::string text = "{";
  for (const auto& [key, value] : document.items()) {
    if (text.size() > 1) text += ',';
    text += nlohmann::json(key).dump();
    text += ':';
    if (key != "entries") {
      text += value.dump();
      continue;
    }
    text += '[';
    bool first = true;
    for_each_entry(names, [&](nlohmann::json&& item) {
      if (!std::exchange(first, false)) text += ',';
      text += item.dump();
    });
    text += ']';
  }
  text += '}';
  return text;
}

Names AgentCore::link_names() const {
  Names names;
  for (const auto& [index, link] : observed_.links()) names[index] = link.name;
  return names;
}

// Everything but the entries (an empty list): status() and status_text() add them.
nlohmann::json AgentCore::status_document(SteadyTime now, const Names& names) const {
  using nlohmann::json;
  json verifying = json::array();
  for (const auto& [key, v] : liveness_.verifying()) {
    verifying.push_back({{"address", key.second.to_string()},
                         {"interface", name_of(names, key.first)},
                         {"probes", v.probes},
                         {"deadline_in_s", seconds_until(v.deadline, now)}});
  }
  json withdrawn = json::array();
  for (const auto& key : liveness_.withdrawn()) {
    withdrawn.push_back(
        {{"address", key.second.to_string()}, {"interface", name_of(names, key.first)}});
  }
  json pending = json::array();
  for (const auto& [key, retry] : retries_) {
    pending.push_back({{"address", key.second.to_string()},
                       {"uplink", name_of(names, key.first)},
                       {"operation", retry.operation},
                       {"attempts", retry.attempts},
                       {"retry_in_s", std::max(0.0, seconds_until(retry.next, now))},
                       {"error", retry.status.message}});
  }
  // Sysctls report the value found when the agent first looked, and what it set.
  auto sysctls = sysctls_;
  for (auto& s : sysctls) {
    if (const auto it = first_found_.find(s.key); it != first_found_.end()) s.found = it->second;
  }
  json downstream = json::array();
  for (const auto index : decision_.downstream) downstream.push_back(name_of(names, index));
  const auto& c = counters_;
  return {{"schema", kSchemaVersion},
          {"version", kVersion},
          {"mode", "agent"},
          {"pid", static_cast<int>(getpid())},
          {"started", iso_time(started_)},
          {"last_resync", last_resync_ ? json(iso_time(*last_resync_)) : json(nullptr)},
          {"owner_protocol", config_.owner_protocol},
          {"uplinks", uplinks_json(decision_, sysctls)},
          {"missing_uplinks", decision_.missing_uplinks},
          {"sysctls", sysctls_json(sysctls, "all")},
          {"downstream", std::move(downstream)},
          {"entries", json::array()},
          {"foreign", foreign_json(decision_, names)},
          {"skipped", skipped_json(decision_, names)},
          {"verifying", std::move(verifying)},
          {"withdrawn", std::move(withdrawn)},
          {"pending", std::move(pending)},
          {"counters",
           {{"events", c.events},
            {"reconciles", c.reconciles},
            {"full_reconciles", c.full_reconciles},
            {"adds", c.adds},
            {"removes", c.removes},
            {"errors", c.errors},
            {"resyncs", c.resyncs},
            {"overruns", c.overruns},
            {"malformed", c.malformed},
            {"probes", c.probes},
            {"uplink_probes", c.uplink_probes},
            {"withdrawals", c.withdrawals},
            {"sysctl_repairs", c.sysctl_repairs},
            {"reloads", c.reloads},
            {"capped", c.capped}}}};
}

}  // namespace ndpsync
