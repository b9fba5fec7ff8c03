// The decision engine: owns the Decision and keeps it equal to what a fresh look at the kernel
// state would decide. A full pass judges every address; an update judges only the addresses a
// batch of events touched. Both judge an address the same way, from the same candidates
// (candidates_for) and the same uplink roles (uplink_role): a full pass is an update over every
// address, plus the structural half (uplinks, downstream, caps, foreign entries). Pure: no I/O.
#pragma once

#include <optional>
#include <set>

#include "ndpsync/policy.hpp"

namespace ndpsync {

class DecisionEngine {
 public:
  // Judges everything from scratch: uplinks, downstream, every address, caps.
  void full(const Config& config, const ObservedState& observed, const LivenessView& liveness,
            const Memory& memory);

  // Judges `touched` again, after events that changed only downstream addresses and neighbours,
  // the uplinks' neighbours, or liveness verdicts. Commits whole or changes nothing: false when it
  // cannot promise the result a full pass would give (a cap is involved); call full() then.
  [[nodiscard]] bool update(const Config& config, const ObservedState& observed,
                            const LivenessView& liveness, const std::set<Ipv6Address>& touched);

  // Whether a source that no kernel table shows yet (a DAD probe) would win `address` on the
  // downstream interface `ifindex` once the kernel knows it: nullopt when it would, else why not.
  // The same refusals as every candidate (class, the uplinks' own addresses and gateways, deny,
  // prefixes, per-interface prefixes), then another owner's entry and the caps. What the uplinks'
  // neighbour tables claim does not refuse it: the source wins only by answering the probe that
  // follows it, and that answer verifies its holder. The per-MAC cap is not checked: no MAC is
  // known yet; the first full judgement counts it.
  // An address already claimed, or an interface that is not downstream, is the caller's to check.
  [[nodiscard]] std::optional<SkipReason> judge_new_source(const Config& config,
                                                           const ObservedState& observed,
                                                           const Ipv6Address& address,
                                                           IfIndex ifindex) const;
  // Where a solicitation for `target` on the uplink `uplink` could be answered from (on-demand
  // discovery): the downstream interface of the longest main-table route without a gateway that
  // covers `target`, or nullopt when that route is not downstream (or there is none), or when
  // `uplink` does not serve `target`. Guards are judge_new_source()'s.
  [[nodiscard]] std::optional<IfIndex> downstream_for(const ObservedState& observed,
                                                      const Ipv6Address& target,
                                                      IfIndex uplink) const;

  [[nodiscard]] const Decision& decision() const { return decision_; }
  [[nodiscard]] Decision take() && { return std::move(decision_); }

 private:
  Decision decision_;
};

// What the uplinks' neighbour tables claim of `address`: the router's (an entry at the MAC of a
// gateway's entry), another node's (a present entry at a MAC other than the uplink's own, or a
// router flag at any other MAC), or nothing. Anyone on the
// provider's link can make the kernel write such entries, so a claim refuses only an address
// whose holder downstream is not verified (docs/security.md).
enum class UplinkClaim : std::uint8_t { kNone, kRouter, kNode };
[[nodiscard]] UplinkClaim uplink_claim(const ObservedState& observed, const Decision& decision,
                                       const Ipv6Address& address);

// Whether `neighbour`, an entry on the uplink `uplink`, is another node's: not a router's, and not
// at the uplink's own MAC (the host answering there is the host).
[[nodiscard]] bool another_node(const ObservedState& observed, IfIndex uplink,
                                const NeighbourInfo& neighbour);

}  // namespace ndpsync
