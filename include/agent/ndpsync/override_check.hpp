// The override advertisement of a first claim (unsolicited_na), sent only once the uplink has been
// asked. An NA with O=1 makes every router on the link move the address to the host's MAC; a
// container that fakes a neighbour must not make the host take an address another node on the
// uplink answers for. So a first claim's advert waits: the kernel resolves the address on the
// uplink (one multicast solicitation, afresh: the agent deletes the uplink's entry for it first),
// and the advert goes out when nobody answered within kAskWindow.
// While another node answers (a host the container just left, still proxying it until its
// liveness notices; or a node that holds the address itself), it is asked again every kAskWindow,
// and the advert goes out once the answers stop, or is withheld after kGiveUp. Pure: time and the
// kernel's tables come in as parameters; the Announcer (announcer.hpp) carries out the steps.
// docs/security.md.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <vector>

#include "ndpsync/liveness.hpp"
#include "ndpsync/policy.hpp"

namespace ndpsync {

class OverrideCheck {
 public:
  // One solicitation's worth: the kernel's retrans_time, and an answer takes milliseconds.
  static constexpr auto kAskWindow = std::chrono::seconds(1);
  static constexpr auto kGiveUp = std::chrono::seconds(30);

  enum class Step : std::uint8_t {
    kAsk,       // have the kernel resolve the address on the uplink
    kAnnounce,  // nobody else answers: send the override advert
    kWithhold,  // another node kept answering: no advert
  };
  struct Action {
    Step step;
    IfAddressKey key;  // (uplink, address)
  };

  // A first claim of `key` (uplink, address) went in.
  void claimed(const IfAddressKey& key, SteadyTime now);
  // The steps due now, given the uplinks' neighbour tables; claims no longer wanted are dropped.
  void due(SteadyTime now, const ObservedState& observed, const Decision& decision,
           std::vector<Action>& out);
  [[nodiscard]] std::optional<SteadyTime> next_wakeup() const;
  [[nodiscard]] std::size_t pending() const { return pending_.size(); }

 private:
  struct Pending {
    SteadyTime next;
    SteadyTime give_up;
    bool asked = false;
  };
  std::map<IfAddressKey, Pending> pending_;
};

}  // namespace ndpsync
