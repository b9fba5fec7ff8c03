#include "ndpsync/agent.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "agent_verify.hpp"

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
      started_(wall_()) {
  prober_.discovery().set_limits({.rate = config_.on_demand_rate});
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
    if (const auto* n = std::get_if<NeighbourEvent>(&event)) {
      note_neighbour(*n, now);
    } else if (const auto* l = std::get_if<LinkEvent>(&event)) {
      note_link(*l, now);
    } else if (const auto* c = std::get_if<NetconfEvent>(&event)) {
      sysctls_changed = sysctls_changed || c->ifindex == 0 || decision().uplink(c->ifindex);
    }
    if (observed_.apply(event)) classify(event);
  }
  // Someone wrote forwarding or proxy_ndp of all, default or an uplink (a network manager
  // reconfiguring the uplink writes proxy_ndp = 0): check and repair now, once per batch.
  // Our own writes come back here too, and find nothing to do.
  if (sysctls_changed && claims_started_) {
    keeper_.invalidate();
    keeper_.keep(config_, observed_, decision().uplinks);
  }
  prober_.send(now);
}

void AgentCore::note_neighbour(const NeighbourEvent& event, SteadyTime now) {
  const auto& n = event.neighbour;
  const IfAddressKey key{n.ifindex, n.address};
  const auto* before = observed_.neighbour(key);
  if (event.change == Change::kDel && before != nullptr && before->state.in(kNudStatic)) {
    prober_.forget(key);  // an admin removed a static entry: gone, nothing to verify
  } else if (config_.verify_neighbours && is_tracked(key)) {
    const auto state = event.change == Change::kNew ? std::optional(n.state) : std::nullopt;
    if (prober_.observe(key, state, now)) touched_.insert(key.second);
  }
  spdlog::trace("neighbour {} {} on {}: {}", event.change == Change::kNew ? "new" : "del",
                n.address.to_string(), n.ifindex, nud_state_name(n.state));
}

void AgentCore::note_link(const LinkEvent& event, SteadyTime now) {
  const auto* before = observed_.link(event.link.index);
  // A port leaving its bridge usually means a container stopped; the bridge's neighbour entry
  // for it lingers, so verify everything claimed on that bridge now.
  if (before != nullptr && before->master != 0 &&
      (event.change == Change::kDel || event.link.master != before->master)) {
    for (const auto& source : claimed_neighbours(decision())) {
      if (source.first == before->master) prober_.suspect(source, now);
    }
  }
  if (event.change == Change::kDel) prober_.forget_interface(event.link.index);
  // An uplink that changes name or comes back needs its sysctls checked.
  if (decision().uplink(event.link.index) != nullptr || event.change == Change::kNew) {
    keeper_.invalidate();
  }
  spdlog::debug("link {} {} ({})", event.change == Change::kNew ? "new" : "del", event.link.name,
                event.link.index);
}

// Events that change only downstream addresses, neighbours and host routes, or an uplink's
// neighbours, are judged address by address; anything else (links, other routes on uplinks, the
// uplinks' own addresses, proxy entries) needs a full pass.
void AgentCore::classify(const KernelEvent& event) {
  const auto& d = decision();
  const auto downstream = [&d](IfIndex index) {
    return std::binary_search(d.downstream.begin(), d.downstream.end(), index);
  };
  // Without an uplink, SLAAC's traces elsewhere (an address, an RA route, a router's neighbour
  // entry) may name one (find_slaac_uplink): judge the structure again. Rare, and cheap then.
  const auto searching = [&d, &downstream](IfIndex index) {
    return d.uplinks.empty() && !downstream(index);
  };
  if (const auto* n = std::get_if<NeighbourEvent>(&event)) {
    // On an uplink, link-local and multicast entries (the router's fe80 entry cycling
    // REACHABLE/STALE every few seconds) never change a decision: a candidate with such an
    // address is refused by class first. Multicast groups' NOARP entries are never candidates.
    const auto& address = n->neighbour.address;
    const bool on_uplink = d.uplink(n->neighbour.ifindex) != nullptr;
    if (n->neighbour.router && searching(n->neighbour.ifindex)) structural_ = true;
    if (address.is_multicast() || (on_uplink && address.is_link_local())) return;
    if (on_uplink || downstream(n->neighbour.ifindex)) touched_.insert(address);
  } else if (const auto* a = std::get_if<AddressEvent>(&event)) {
    if (d.uplink(a->address.ifindex) != nullptr || searching(a->address.ifindex)) {
      structural_ = true;
    } else if (downstream(a->address.ifindex)) {
      touched_.insert(a->address.address);
    }
  } else if (const auto* r = std::get_if<RouteEvent>(&event)) {
    // Default routes pick the uplinks; routes on an uplink give prefixes and routers.
    if (r->route.is_default() || d.uplink(r->route.oif) != nullptr || searching(r->route.oif)) {
      structural_ = true;
    } else if (is_host_route(r->route) && downstream(r->route.oif)) {
      // A /128 into a downstream interface (a routed NIC) is one address's source.
      touched_.insert(r->route.destination.network());
    }
  } else {
    structural_ = true;
  }
}

// A DAD probe is a claim nobody has verified: the address gets no entry from it, only a probe
// once its DAD time is over. The node's answer makes it a neighbour, and the neighbour is what
// gets proxied, judged like every other. So the probe is followed only where that neighbour
// would win: an address the router, the host, another node on the uplink or another container
// holds gains nothing, and neither does one the guards or the caps refuse.
void AgentCore::on_dad_probes(const std::vector<DadProbe>& probes, SteadyTime now) {
  if (!config_.dad_snooping) return;
  const auto& d = decision();
  for (const auto& probe : probes) {
    // Bridge ports see their containers' probes too; the bridge (downstream) sees them as well.
    if (!std::binary_search(d.downstream.begin(), d.downstream.end(), probe.ifindex)) continue;
    const auto target = probe.target.to_string();
    if (d.claim(probe.target) != nullptr) {
      prober_.ignore_dad();
      spdlog::debug("DAD probe for {} on {}: already claimed", target, link_name(probe.ifindex));
      continue;
    }
    if (const auto reason =
            engine_.judge_new_source(config_, observed_, probe.target, probe.ifindex)) {
      prober_.ignore_dad();
      spdlog::debug("DAD probe for {} on {}: refused ({})", target, link_name(probe.ifindex),
                    to_string(*reason));
      continue;
    }
    const bool followed = prober_.follow_dad({probe.ifindex, probe.target}, now);
    spdlog::debug("DAD probe for {} on {}: {}", target, link_name(probe.ifindex),
                  followed ? "probing it once its DAD time is over" : "ignored (pending)");
  }
}

// The kernel answers for what we proxy; a solicitation for anything else in an uplink's
// prefixes may be for a container that never spoke. It is probed where its route leads, judged
// like a DAD probe: the address must be one the guards would let its neighbour win.
void AgentCore::on_solicitations(const std::vector<Solicitation>& batch, SteadyTime now) {
  if (!config_.on_demand) return;
  const auto& d = decision();
  auto& discovery = prober_.discovery();
  for (const auto& ns : batch) {
    const auto* uplink = d.uplink(ns.ifindex);
    if (uplink == nullptr || !uplink->covers(ns.target) || d.claim(ns.target) != nullptr) continue;
    const auto target = ns.target.to_string();
    if (discovery.screen(ns, now)) continue;
    const auto downstream = engine_.downstream_for(observed_, ns.target, ns.ifindex);
    if (!downstream) {
      discovery.refuse(ns.target, now);
      spdlog::debug("solicitation for {} on {}: no downstream route", target, uplink->name);
      continue;
    }
    if (const auto reason = engine_.judge_new_source(config_, observed_, ns.target, *downstream)) {
      discovery.refuse(ns.target, now);
      spdlog::debug("solicitation for {} on {}: refused ({})", target, uplink->name,
                    to_string(*reason));
      continue;
    }
    const auto verdict = prober_.discover(ns, *downstream, now);
    spdlog::debug("solicitation for {} on {}: {}", target, uplink->name,
                  verdict == Discovery::Verdict::kProbe ? "probing " + link_name(*downstream)
                                                        : std::string("over the limits"));
  }
}

// A probe nobody answered in time leaves an INCOMPLETE (or FAILED) entry downstream: it goes at
// once, so that a scan never fills the neighbour table. A node that answered late keeps its.
void AgentCore::expire_discoveries(SteadyTime now) {
  std::vector<IfAddressKey> expired;
  prober_.discovery().expire(now, expired);
  for (const auto& key : expired) {
    const auto* neighbour = observed_.neighbour(key);
    if (neighbour != nullptr && neighbour->present()) continue;
    if (const auto status = kernel_.delete_neighbour(key.first, key.second); !status.ok()) {
      spdlog::debug("{}", status.message);
    }
  }
}

// After an entry went in: the routers that asked for it (on-demand) get their answer now rather
// than at their next retransmission, and a first claim after the start is announced
// (unsolicited_na), so a router that cached the address at another host follows at once.
void AgentCore::advertise(const ProxyEntry& entry, bool first_claim, SteadyTime now) {
  const auto solicitors = prober_.discovery().found(entry.address, entry.ifindex);
  if (adverts_ == nullptr) return;
  const auto* link = observed_.link(entry.ifindex);
  const auto source = link_local(entry.ifindex);
  if (link == nullptr || link->mac.empty() || !source) return;
  Advert advert{.ifindex = entry.ifindex,
                .source = *source,
                .target = entry.address,
                .lladdr = link->mac,
                .router = true,  // the host forwards for the address
                .solicited = true};
  // The kernel's own proxy answers carry O=0 (RFC 4861 7.2.8), so that a node that holds the
  // address itself wins; ours say the same.
  for (const auto& ns : solicitors) {
    advert.destination = ns.source;
    advert.destination_mac = ns.source_mac;
    if (const auto status = adverts_->advertise(advert); status.ok()) {
      prober_.discovery().note_advert();
    } else {
      ++counters_.advert_errors;
      spdlog::debug("{}", status.message);
    }
  }
  // A first claim after the start is announced with O=1 once the uplink has been asked
  // (Announcer): a router that has the address at another host's MAC (the container moved here)
  // replaces it, but nobody else on the uplink loses an address it answers for.
  if (!solicitors.empty() || !first_claim || !claims_started_ || !config_.unsolicited_na) return;
  if (config_.uplink_probe.count() > 0) {
    // The claim itself waited for the uplink's answer (uplink_probe_ms): nobody else has it.
    send_override({entry.ifindex, entry.address}, now);
  } else {
    announcer_.claimed({entry.ifindex, entry.address}, now);
  }
}

void AgentCore::announce(SteadyTime now) {
  std::vector<Announcer::Action> actions;
  announcer_.due(now, observed_, decision(), actions);
  for (const auto& [step, key] : actions) {
    const auto address = key.second.to_string();
    switch (step) {
      case Announcer::Step::kAsk:
        ++counters_.probes;
        ++counters_.uplink_probes;
        spdlog::debug("asking {} whether another node answers for {} before announcing it",
                      link_name(key.first), address);
        // Asked afresh, by multicast: an entry left by a host the container moved from would
        // only be probed at that host's MAC, and take ucast_solicit x retrans_time to fail.
        if (observed_.neighbour(key) != nullptr)
          (void)kernel_.delete_neighbour(key.first, key.second);
        if (const auto status = kernel_.probe_neighbour(key.first, key.second); !status.ok()) {
          spdlog::debug("{}", status.message);
        }
        break;
      case Announcer::Step::kWithhold:
        ++counters_.adverts_withheld;
        spdlog::info("not announcing {} on {}: another node there kept answering for it", address,
                     link_name(key.first));
        break;
      case Announcer::Step::kAnnounce: {
        // The solicitation's unanswered entry goes, so that it leaves no trace.
        if (const auto* asked = observed_.neighbour(key); asked != nullptr && !asked->present()) {
          (void)kernel_.delete_neighbour(key.first, key.second);
        }
        spdlog::debug("announcing {} on {}: nobody else answers for it", address,
                      link_name(key.first));
        send_override(key, now);
        break;
      }
    }
  }
}

void AgentCore::send_override(const IfAddressKey& key, SteadyTime now) {
  const auto* link = observed_.link(key.first);
  const auto source = link_local(key.first);
  if (adverts_ == nullptr || link == nullptr || link->mac.empty() || !source) return;
  if (!announcer_.admit(now)) return;
  // To all nodes, with O=1: a router that has the address at another host's MAC replaces it. One
  // that does not track the address ignores it.
  const Advert advert{.ifindex = key.first,
                      .source = *source,
                      .destination = Ipv6Address::parse("ff02::1").value(),
                      .target = key.second,
                      .lladdr = link->mac,
                      .router = true,
                      .solicited = false,
                      .override = true};
  if (const auto status = adverts_->advertise(advert); status.ok()) {
    ++counters_.adverts_unsolicited;
  } else {
    ++counters_.advert_errors;
    spdlog::debug("{}", status.message);
  }
}

// A NIC filters the multicast groups nobody joined; the solicited-node groups of addresses we do
// not proxy yet are such groups. An all-multicast reference on each uplink lets their
// solicitations in. It is the kernel's to count: taken once per uplink (checked on every full
// pass, since an uplink may be re-created), let go when one stops being an uplink, and dropped by
// the kernel itself when the agent's socket closes, however the agent ends.
void AgentCore::keep_allmulti() {
  if (adverts_ == nullptr || !config_.on_demand) return;
  for (auto it = allmulti_.begin(); it != allmulti_.end();) {
    if (decision().uplink(*it) != nullptr) {
      ++it;
      continue;
    }
    (void)adverts_->hold_allmulti(*it, false);  // fails for a link that is gone: nothing held
    it = allmulti_.erase(it);
  }
  for (const auto& uplink : decision().uplinks) {
    if (allmulti_.contains(uplink.index)) continue;
    if (const auto status = adverts_->hold_allmulti(uplink.index, true); !status.ok()) {
      spdlog::warn("{} on {}: on-demand discovery may miss solicitations its NIC filters",
                   status.message, uplink.name);
    } else {
      allmulti_.insert(uplink.index);
      spdlog::info("receiving all multicast on {} for on-demand discovery (while the agent runs)",
                   uplink.name);
    }
  }
}

void AgentCore::release_allmulti() {
  if (adverts_ == nullptr) return;
  for (const auto index : allmulti_) (void)adverts_->hold_allmulti(index, false);
  allmulti_.clear();
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
    keep_allmulti();
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
  claims_started_ = true;
  filters_stale_ =
      filters_stale_ || scope.is_everything() || !plan.add.empty() || !plan.remove.empty();
  refresh_packet_filters();
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
    if (!uplink.remembered && !uplink.prefixes.empty())
      memory_.prefixes[uplink.name] = uplink.prefixes;
  }
  scope = Scope::everything();
}

// Installed entries of ours without a ledger note: adopted from a past run (at start), or from
// whoever added an entry with our tag (later).
void AgentCore::adopt(const Plan& plan) {
  const auto when = unix_seconds(adopted_at_start_ ? wall_() : started_);
  for (const auto& entry : plan.keep) {
    const IfAddressKey key{entry.ifindex, entry.address};
    if (!writer_.ledger().since(key)) writer_.ledger().note(key, when);
  }
  writer_.ledger().settle();
  adopted_at_start_ = true;
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
    if (writer_.ledger().since(key) || prober_.claim_cleared(key, link_name(entry.ifindex), now)) {
      write(entry, WriteOp::kAdd, now);
    }
  }
  writer_.ledger().settle();
  writer_.drop_moot(decision());
}

void AgentCore::write(const ProxyEntry& entry, WriteOp op, SteadyTime now) {
  const bool first_claim =
      op == WriteOp::kAdd && !writer_.ledger().since({entry.ifindex, entry.address});
  const auto outcome = writer_.write(entry, op, observed_, now);
  const auto uplink = link_name(entry.ifindex);
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
    const auto where =
        desired.source_ifindex == 0 ? std::string() : " on " + link_name(desired.source_ifindex);
    spdlog::info("proxying {} on {} ({}{})", entry.address.to_string(), uplink,
                 to_string(desired.source), where);
    advertise(entry, first_claim, now);
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
  expire_discoveries(now);
  if (verdicts) structural_ = true;  // rare: a verdict; judge everything again
  for (const auto& [key, retry] : writer_.pending()) {
    if (now >= retry.next && !prober_.waiting(key)) touched_.insert(key.second);
  }
  prober_.due(now, touched_);
  reconcile(now);
  announce(now);
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
  prober_.discovery().set_limits({.rate = config_.on_demand_rate});
  if (!config_.on_demand) release_allmulti();
  ++counters_.reloads;
  refusals_.clear();
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
  // The last chance: every entry of ours is tried now, whatever backoff a failed write was in.
  writer_.clear_retries();
  const auto now = std::chrono::steady_clock::now();
  for (const auto& entry : proxies.value) {
    if (entry.protocol != config_.owner_protocol) continue;
    const auto outcome = writer_.write(entry, WriteOp::kDelete, observed_, now);
    if (outcome.kind != WriteOutcome::Kind::kWritten) {
      spdlog::error("left {} on {}: {}", entry.address.to_string(), link_name(entry.ifindex),
                    outcome.status.message);
    }
  }
}

Counters AgentCore::counters() const {
  auto counters = gather_counters(counters_, writer_.counters(), prober_.counters(),
                                  prober_.discovery(), keeper_.counters());
  counters.packet_targets_unfiltered =
      solicitation_socket_ != nullptr && !solicitation_socket_->targets_filtered() ? 1 : 0;
  return counters;
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

// A neighbour whose state matters to liveness: one we claim an address from, or are verifying,
// or have withdrawn.
bool AgentCore::is_tracked(const IfAddressKey& source) const {
  const auto* claim = decision().claim(source.second);
  const bool claimed = claim != nullptr && claim->source == Source::kNeighbour &&
                       claim->source_ifindex == source.first;
  const auto& liveness = prober_.liveness();
  return claimed || liveness.verifying().contains(source) || liveness.withdrawn().contains(source);
}

// The uplink's link-local address, where adverts come from (RFC 4861 7.2.4 lets any address of
// the interface be the source; routers expect the link-local one).
std::optional<Ipv6Address> AgentCore::link_local(IfIndex index) const {
  static const auto first = Ipv6Address::parse("fe80::").value();
  const auto& addresses = observed_.addresses();
  for (auto it = addresses.lower_bound(SourceKey{first, 0});
       it != addresses.end() && it->first.address.is_link_local(); ++it) {
    if (it->first.ifindex == index && (it->second.flags & kAddrTentative) == 0) {
      return it->first.address;
    }
  }
  return std::nullopt;
}

std::string AgentCore::link_name(IfIndex index) const {
  const auto* link = observed_.link(index);
  return link != nullptr ? link->name : std::to_string(index);
}

}  // namespace ndpsync
