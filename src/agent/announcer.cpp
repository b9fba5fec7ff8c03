#include "ndpsync/announcer.hpp"

#include <spdlog/spdlog.h>

namespace ndpsync {
namespace {

// The uplink's link-local address, where adverts come from (RFC 4861 7.2.4 lets any address of
// the interface be the source; routers expect the link-local one).
std::optional<Ipv6Address> link_local(const ObservedState& observed, IfIndex index) {
  static const auto first = Ipv6Address::parse("fe80::").value();
  const auto& addresses = observed.addresses();
  for (auto it = addresses.lower_bound(SourceKey{first, 0});
       it != addresses.end() && it->first.address.is_link_local(); ++it) {
    if (it->first.ifindex == index && (it->second.flags & kAddrTentative) == 0) {
      return it->first.address;
    }
  }
  return std::nullopt;
}

}  // namespace

void Announcer::configure(const Config& config) {
  on_demand_ = config.on_demand;
  unsolicited_na_ = config.unsolicited_na;
  uplink_probe_ = config.uplink_probe.count() > 0;
  discovery_.set_limits({.rate = config.on_demand_rate});
  if (!on_demand_) release_allmulti();
}

// The kernel answers for what we proxy; a solicitation for anything else in an uplink's
// prefixes may be for a container that never spoke. It is probed where its route leads, judged
// like a DAD probe: the address must be one the guards would let its neighbour win.
void Announcer::on_solicitations(const std::vector<Solicitation>& batch,
                                 const DecisionEngine& engine, const ObservedState& observed,
                                 const Config& config, SteadyTime now) {
  if (!on_demand_) return;
  const auto& d = engine.decision();
  for (const auto& ns : batch) {
    const auto* uplink = d.uplink(ns.ifindex);
    if (uplink == nullptr || !uplink->covers(ns.target) || d.claim(ns.target) != nullptr) continue;
    const auto target = ns.target.to_string();
    if (discovery_.screen(ns, now)) continue;
    const auto downstream = engine.downstream_for(observed, ns.target, ns.ifindex);
    if (!downstream) {
      discovery_.refuse(ns.target, now);
      spdlog::debug("solicitation for {} on {}: no downstream route", target, uplink->name);
      continue;
    }
    if (const auto reason = engine.judge_new_source(config, observed, ns.target, *downstream)) {
      discovery_.refuse(ns.target, now);
      spdlog::debug("solicitation for {} on {}: refused ({})", target, uplink->name,
                    to_string(*reason));
      continue;
    }
    const auto verdict = discovery_.admit(ns, *downstream, now);
    // A failed probe (the interface went) is no answer: the wait expires it like silence.
    if (verdict == Discovery::Verdict::kProbe) {
      (void)kernel_.probe_neighbour(*downstream, ns.target);
    }
    spdlog::debug("solicitation for {} on {}: {}", target, uplink->name,
                  verdict == Discovery::Verdict::kProbe
                      ? "probing " + observed.link_name(*downstream)
                      : std::string("over the limits"));
  }
}

// After an entry went in: the routers that asked for it (on-demand) get their answer now rather
// than at their next retransmission, and news is announced (unsolicited_na), so a router that
// cached the address at another host follows at once.
void Announcer::entry_added(const ProxyEntry& entry, Claim claim, const ObservedState& observed,
                            SteadyTime now) {
  const auto solicitors = discovery_.found(entry.address, entry.ifindex);
  const auto* link = observed.link(entry.ifindex);
  const auto source = link_local(observed, entry.ifindex);
  if (adverts_ == nullptr || link == nullptr || link->mac.empty() || !source) return;
  if (!solicitors.empty()) {
    // The kernel's own proxy answers carry O=0 (RFC 4861 7.2.8), so that a node that holds the
    // address itself wins; ours say the same.
    answer({.ifindex = entry.ifindex,
            .source = *source,
            .target = entry.address,
            .lladdr = link->mac,
            .router = true,  // the host forwards for the address
            .solicited = true},
           solicitors);
    return;  // they got theirs
  }
  // Announced with O=1 once the uplink has been asked (OverrideCheck): a router that has the
  // address at another host's MAC (the container moved here) replaces it, but nobody else on the
  // uplink loses an address it answers for.
  if (claim != Claim::kNews || !unsolicited_na_) return;
  if (uplink_probe_) {
    // The claim itself waited for the uplink's answer (uplink_probe_ms): nobody else has it.
    send_override({entry.ifindex, entry.address}, observed, now);
  } else {
    checks_.claimed({entry.ifindex, entry.address}, now);
  }
}

void Announcer::answer(Advert advert, const std::vector<Solicitation>& solicitors) {
  for (const auto& ns : solicitors) {
    advert.destination = ns.source;
    advert.destination_mac = ns.source_mac;
    if (const auto status = adverts_->advertise(advert); status.ok()) {
      discovery_.note_advert();
    } else {
      ++counters_.advert_errors;
      spdlog::debug("{}", status.message);
    }
  }
}

// A probe nobody answered in time leaves an INCOMPLETE (or FAILED) entry downstream: it goes at
// once, so that a scan never fills the neighbour table. A node that answered late keeps its.
void Announcer::expire(SteadyTime now, const ObservedState& observed) {
  std::vector<IfAddressKey> expired;
  discovery_.expire(now, expired);
  for (const auto& key : expired) {
    const auto* neighbour = observed.neighbour(key);
    if (neighbour != nullptr && neighbour->present()) continue;
    if (const auto status = kernel_.delete_neighbour(key.first, key.second); !status.ok()) {
      spdlog::debug("{}", status.message);
    }
  }
}

void Announcer::announce(SteadyTime now, const ObservedState& observed, const Decision& decision) {
  std::vector<OverrideCheck::Action> actions;
  checks_.due(now, observed, decision, actions);
  for (const auto& [step, key] : actions) {
    const auto address = key.second.to_string();
    switch (step) {
      case OverrideCheck::Step::kAsk: ask(key, observed); break;
      case OverrideCheck::Step::kWithhold:
        ++counters_.adverts_withheld;
        spdlog::info("not announcing {} on {}: another node there kept answering for it", address,
                     observed.link_name(key.first));
        break;
      case OverrideCheck::Step::kAnnounce: {
        // The solicitation's unanswered entry goes, so that it leaves no trace.
        if (const auto* asked = observed.neighbour(key); asked != nullptr && !asked->present()) {
          (void)kernel_.delete_neighbour(key.first, key.second);
        }
        spdlog::debug("announcing {} on {}: nobody else answers for it", address,
                      observed.link_name(key.first));
        send_override(key, observed, now);
        break;
      }
    }
  }
}

void Announcer::ask(const IfAddressKey& key, const ObservedState& observed) {
  ++counters_.asks;
  spdlog::debug("asking {} whether another node answers for {} before announcing it",
                observed.link_name(key.first), key.second.to_string());
  // Asked afresh, by multicast: an entry left by a host the container moved from would only be
  // probed at that host's MAC, and take ucast_solicit x retrans_time to fail.
  if (observed.neighbour(key) != nullptr) (void)kernel_.delete_neighbour(key.first, key.second);
  if (const auto status = kernel_.probe_neighbour(key.first, key.second); !status.ok()) {
    spdlog::debug("{}", status.message);
  }
}

void Announcer::send_override(const IfAddressKey& key, const ObservedState& observed,
                              SteadyTime now) {
  const auto* link = observed.link(key.first);
  const auto source = link_local(observed, key.first);
  if (adverts_ == nullptr || link == nullptr || link->mac.empty() || !source) return;
  if (!admit(now)) return;
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

bool Announcer::admit(SteadyTime now) {
  if (now - second_ >= std::chrono::seconds(1)) {
    second_ = now;
    this_second_ = 0;
  }
  return ++this_second_ <= kPerSecond;
}

// A NIC filters the multicast groups nobody joined; the solicited-node groups of addresses we do
// not proxy yet are such groups. An all-multicast reference on each uplink lets their
// solicitations in. It is the kernel's to count: taken once per uplink, let go when one stops
// being an uplink, and dropped by the kernel itself when the agent's socket closes, however the
// agent ends.
void Announcer::keep_allmulti(const Decision& decision) {
  if (adverts_ == nullptr || !on_demand_) return;
  for (auto it = allmulti_.begin(); it != allmulti_.end();) {
    if (decision.uplink(*it) != nullptr) {
      ++it;
      continue;
    }
    // Fails for a link that is gone: nothing held.
    (void)adverts_->hold_allmulti(*it, AllmultiRef::kRelease);
    it = allmulti_.erase(it);
  }
  for (const auto& uplink : decision.uplinks) {
    if (allmulti_.contains(uplink.index)) continue;
    if (const auto status = adverts_->hold_allmulti(uplink.index, AllmultiRef::kTake);
        !status.ok()) {
      spdlog::warn("{} on {}: on-demand discovery may miss solicitations its NIC filters",
                   status.message, uplink.name);
    } else {
      allmulti_.insert(uplink.index);
      spdlog::info("receiving all multicast on {} for on-demand discovery (while the agent runs)",
                   uplink.name);
    }
  }
}

void Announcer::release_allmulti() {
  if (adverts_ == nullptr) return;
  for (const auto index : allmulti_) (void)adverts_->hold_allmulti(index, AllmultiRef::kRelease);
  allmulti_.clear();
}

std::optional<SteadyTime> Announcer::next_wakeup() const {
  auto next = checks_.next_wakeup();
  if (const auto expiry = discovery_.next_wakeup(); expiry && (!next || *expiry < *next)) {
    next = expiry;
  }
  return next;
}

}  // namespace ndpsync
