#include "ndpsync/agent.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "agent_verify.hpp"
#include "event_reach.hpp"

namespace ndpsync {
namespace {

constexpr auto kMalformedResyncGap = std::chrono::seconds(1);

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
      writer_(kernel, Retries::kWithBackoff, wall_),
      prober_(kernel, config_.liveness_timeout, config_.uplink_probe, config_.dad_snoop_delay),
      keeper_(kernel),
      announcer_(kernel),
      started_(wall_()) {
  announcer_.configure(config_);
}

Status AgentCore::resync(SteadyTime now, ResyncReason reason) {
  auto snapshot = kernel_.dump();
  if (!snapshot.ok()) {
    ++counters_.errors;
    spdlog::warn("resync ({}): {}", to_string(reason), snapshot.status.message);
    return snapshot.status;
  }
  const auto claimed = claimed_states(decision(), observed_);
  observed_.replace(std::move(snapshot.value));
  ++counters_.resyncs;
  if (reason == ResyncReason::kOverrun) ++counters_.overruns;
  last_resync_ = wall_();
  keeper_.invalidate();  // the kernel may have changed anything while we were not looking
  refusals_.remind();
  if (config_.verify_neighbours) {
    verify_vanished(claimed, observed_, prober_, now);
    if (reason == ResyncReason::kStart) {
      const auto without_orphans =
          ::ndpsync::decide(config_, observed_, prober_.liveness().view(), memory_);
      verify_orphans(without_orphans, observed_, config_.owner_protocol, prober_, now);
    }
    prober_.send(now);
  }
  structural_ = true;
  reconcile(now);
  if (config_.verify_neighbours) verify_unconfirmed(decision(), observed_, prober_, now);
  prober_.send(now);
  forget_absent(observed_, prober_);
  spdlog::debug("resync ({}): {} entries", to_string(reason), decision().desired.size());
  return {};
}

void AgentCore::on_drained(const std::vector<KernelEvent>& events, EventSource::Drain result,
                           SteadyTime now, std::string_view error) {
  on_events(events, now);
  switch (result) {
    case EventSource::Drain::kIdle:
    case EventSource::Drain::kMore: reconcile(now); return;
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
    case EventSource::Drain::kError: on_overrun(now); return;
  }
}

// Events were lost (ENOBUFS) or the socket failed: what we hold may be wrong. The events we did
// get are already applied; the dump replaces them with the truth. If the dump fails, act on what
// we did get. At most one dump a second: a flood of events that overruns the socket again and
// again must not keep the agent dumping; the overruns within the gap share one dump at its end.
void AgentCore::on_overrun(SteadyTime now) {
  if (last_overrun_resync_ && now - *last_overrun_resync_ < kMalformedResyncGap) {
    resync_owed_ = *last_overrun_resync_ + kMalformedResyncGap;
    reconcile(now);
    return;
  }
  last_overrun_resync_ = now;
  resync_owed_.reset();
  spdlog::warn("netlink event socket overrun or error: re-reading the kernel state");
  if (!resync(now, ResyncReason::kOverrun).ok()) reconcile(now);
}

void AgentCore::on_events(const std::vector<KernelEvent>& events, SteadyTime now) {
  bool sysctls_changed = false;
  for (const auto& event : events) {
    ++counters_.events;
    std::visit(
        [&](const auto& e) {
          using E = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<E, NeighbourEvent>) {
            if (neighbour_event(e, config_, decision(), observed_, prober_, now)) {
              touched_.insert(e.neighbour.address);
            }
          } else if constexpr (std::is_same_v<E, LinkEvent>) {
            link_event(e, decision(), observed_, prober_, now);
            // An uplink that changes name or comes back needs its sysctls checked.
            if (decision().uplink(e.link.index) != nullptr || e.change == Change::kNew) {
              keeper_.invalidate();
            }
          } else if constexpr (std::is_same_v<E, NetconfEvent>) {
            sysctls_changed = sysctls_changed || e.ifindex == 0 || decision().uplink(e.ifindex);
          }
        },
        event);
    if (!observed_.apply(event)) continue;
    if (const auto link = changed_link(event)) announcer_.link_changed(*link, now);
    const auto reach = classify(decision(), event);
    structural_ = structural_ || reach.structural;
    if (reach.touched) touched_.insert(*reach.touched);
  }
  // Someone wrote forwarding or proxy_ndp of all, default or an uplink (a network manager
  // reconfiguring the uplink writes proxy_ndp = 0): check and repair now, once per batch.
  // Our own writes come back here too, and find nothing to do.
  if (sysctls_changed && first_pass_done_) {
    keeper_.invalidate();
    keeper_.keep(config_, observed_, decision().uplinks);
  }
  prober_.send(now);
}

void AgentCore::reconcile(SteadyTime now) {
  if (!structural_ && touched_.empty()) return;
  ++counters_.reconciles;
  auto scope = Scope::only(touched_);
  decide(scope);
  const auto plan =
      ::ndpsync::reconcile(decision(), observed_.proxies(), config_.owner_protocol, scope);
  if (const auto capped = refusals_.log(decision(), observed_, config_, scope, now)) {
    counters_.capped = capped->capped;
    counters_.capped_mac = capped->capped_mac;
  }
  if (scope.is_everything()) {
    refusals_.log_missing_uplinks(decision());
    keeper_.keep(config_, observed_, decision().uplinks);
    refusals_.log_uplinks(decision(), keeper_.report());
    announcer_.keep_allmulti(decision());
  }
  if (config_.verify_neighbours) verify_contested(decision(), observed_, scope, prober_, now);
  adopt(plan);
  structural_ = false;
  touched_.clear();
  apply(plan, now);
  if (scope.is_everything()) {
    writer_.ledger().prune(observed_.proxies(), config_.owner_protocol, decision().desired);
  }
  if (writer_.pending().empty()) last_reconcile_ = wall_();
  first_pass_done_ = true;
  if (scope.is_everything() || !plan.add.empty() || !plan.remove.empty()) {
    listeners_.mark_stale();
  }
  listeners_.refresh(config_, decision(), observed_);
}

// The common case, a few containers came or went, is judged in proportion to the change; the
// rest (structure, caps) judges everything. Widens `scope` to everything when it did that.
void AgentCore::decide(Scope& scope) {
  const auto liveness = prober_.liveness().view();
  if (!structural_ && engine_.update(config_, observed_, liveness, touched_)) return;
  ++counters_.full_reconciles;
  engine_.full(config_, observed_, liveness, memory_);
  for (const auto& uplink : decision().uplinks) {
    if (config_.uplinks.empty()) memory_.uplinks.insert(uplink.name);
    if (!uplink.remembered && !uplink.prefixes.empty()) {
      memory_.prefixes[uplink.name] = uplink.prefixes;
    }
  }
  scope = Scope::everything();
}

// Installed entries of ours without a ledger note: adopted from a past run (at start), or from
// whoever added an entry with our tag (later).
void AgentCore::adopt(const Plan& plan) {
  const auto when = unix_seconds(first_pass_done_ ? wall_() : started_);
  for (const auto& entry : plan.keep) {
    const IfAddressKey key{entry.ifindex, entry.address};
    if (!writer_.ledger().since(key)) writer_.ledger().note(key, when);
  }
  writer_.ledger().settle();
}

void AgentCore::apply(const Plan& plan, SteadyTime now) {
  for (const auto& entry : plan.remove) write(entry, WriteOp::kDelete, now);
  // Waits for claims no longer wanted are moot (another node answered, the container left).
  prober_.drop_claims([this](const IfAddressKey& key) {
    return !decision().desired.contains(key) || observed_.proxies().contains(key);
  });
  for (const auto& entry : plan.add) {
    const IfAddressKey key{entry.ifindex, entry.address};
    // With uplink_probe, an address's first claim in this life waits until the kernel has
    // solicited it on the uplink and nobody answered; one already noted was claimed before.
    if (writer_.ledger().since(key) ||
        prober_.claim_cleared(key, observed_.link_name(entry.ifindex), now)) {
      write(entry, WriteOp::kAdd, now);
    }
  }
  writer_.ledger().settle();
  writer_.drop_moot(decision());
}

void AgentCore::write(const ProxyEntry& entry, WriteOp op, SteadyTime now) {
  // A first claim after the start's pass is news; the ledger knows every entry claimed before.
  const auto claim = first_pass_done_ && !writer_.ledger().since({entry.ifindex, entry.address})
                         ? Claim::kNews
                         : Claim::kKnown;
  const auto outcome = writer_.write(entry, op, observed_, now);
  const auto uplink = observed_.link_name(entry.ifindex);
  switch (outcome.kind) {
    case WriteOutcome::Kind::kDeferred: return;
    case WriteOutcome::Kind::kFailed:
      if (outcome.attempts == 1) {
        spdlog::warn("{} (on {}); retrying with backoff", outcome.status.message, uplink);
      }
      return;
    case WriteOutcome::Kind::kWritten: break;
  }
  if (outcome.attempts > 1) {
    spdlog::info("{} {} on {} succeeded after {} attempts", to_string(op),
                 entry.address.to_string(), uplink, outcome.attempts);
  }
  if (op == WriteOp::kAdd) {
    const auto& desired = decision().desired.at({entry.ifindex, entry.address});
    const auto where = desired.source_ifindex == 0
                           ? std::string()
                           : " on " + observed_.link_name(desired.source_ifindex);
    spdlog::info("proxying {} on {} ({}{})", entry.address.to_string(), uplink,
                 to_string(desired.source), where);
    announcer_.entry_added(entry, claim, observed_, now);
  } else {
    spdlog::info("withdrew {} from {}: {}", entry.address.to_string(), uplink,
                 removal_reason(decision(), prober_.liveness().withdrawn(), entry));
  }
}

void AgentCore::tick(SteadyTime now) {
  if (resync_owed_ && now >= *resync_owed_) {  // the dump an overrun within the gap deferred
    resync_owed_.reset();
    last_overrun_resync_ = now;
    (void)resync(now, ResyncReason::kOverrun);
  }
  const bool verdicts = prober_.tick(now);
  announcer_.expire(now, observed_);
  if (verdicts) structural_ = true;  // rare: a verdict; judge everything again
  for (const auto& [key, retry] : writer_.pending()) {
    if (now >= retry.next && !prober_.waiting(key)) touched_.insert(key.second);
  }
  prober_.due(now, touched_);
  reconcile(now);
  announcer_.announce(now, observed_, decision());
  if (verdicts) forget_absent(observed_, prober_);
}

// A retry whose entry waits at the uplink-probe gate is woken by the end of the wait, not by its
// own (past) time: counting it would spin the loop for the whole wait.
std::optional<SteadyTime> AgentCore::next_wakeup() const {
  auto next = prober_.next_wakeup();
  if (const auto announce = announcer_.next_wakeup(); announce && (!next || *announce < *next)) {
    next = announce;
  }
  if (resync_owed_ && (!next || *resync_owed_ < *next)) next = resync_owed_;
  for (const auto& [key, retry] : writer_.pending()) {
    if (!prober_.waiting(key) && (!next || retry.next < *next)) next = retry.next;
  }
  return next;
}

void AgentCore::reload(Config config, SteadyTime now) {
  config_ = std::move(config);
  prober_.set_timeouts(config_.liveness_timeout, config_.uplink_probe, config_.dad_snoop_delay);
  announcer_.configure(config_);
  ++counters_.reloads;
  refusals_.clear();
  structural_ = true;
  spdlog::info("config reloaded");
  resync(now, ResyncReason::kReload);
}

void AgentCore::remove_owned(SteadyTime now) {
  auto proxies = kernel_.dump_proxies();
  if (!proxies.ok()) {
    spdlog::error("cannot list proxy entries to remove them: {}", proxies.status.message);
    return;
  }
  writer_.remove_all(proxies.value, config_.owner_protocol, observed_, now);
}

Counters AgentCore::counters() const {
  return gather_counters(counters_, writer_.counters(), prober_.counters(), announcer_,
                         keeper_.counters(), listeners_);
}

StatusView AgentCore::view() const {
  return StatusView({.config = config_,
                     .observed = observed_,
                     .decision = decision(),
                     .prober = prober_,
                     .writer = writer_,
                     .sysctls = keeper_.report(),
                     .counters = counters(),
                     .started = started_,
                     .last_resync = last_resync_,
                     .last_reconcile = last_reconcile_});
}

nlohmann::json AgentCore::status(SteadyTime now) const { return view().document(now); }
std::string AgentCore::status_text(SteadyTime now) const { return view().text(now); }
MetricsSnapshot AgentCore::metrics(SteadyTime now) const { return view().metrics(now); }
std::string AgentCore::summary() const { return summary_line(decision(), prober_, writer_); }

}  // namespace ndpsync
