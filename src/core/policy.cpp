#include "ndpsync/policy.hpp"

#include <algorithm>

#include "ndpsync/decision_engine.hpp"

namespace ndpsync {

std::string_view to_string(Source source) {
  switch (source) {
    case Source::kAddress: return "address";
    case Source::kNeighbour: return "neighbour";
    case Source::kRoute: return "route";
    case Source::kStatic: return "static";
  }
  return "unknown";
}

std::string_view to_string(SkipReason reason) {
  switch (reason) {
    case SkipReason::kLinkLocal: return "link-local";
    case SkipReason::kMulticast: return "multicast";
    case SkipReason::kUnspecified: return "unspecified";
    case SkipReason::kLoopback: return "loopback";
    case SkipReason::kOutsidePrefix: return "outside-prefix";
    case SkipReason::kDenied: return "denied";
    case SkipReason::kUplinkAddress: return "uplink-address";
    case SkipReason::kUplinkRouter: return "uplink-router";
    case SkipReason::kUplinkNeighbour: return "uplink-neighbour";
    case SkipReason::kNotAllowed: return "not-allowed";
    case SkipReason::kDadFailed: return "dad-failed";
    case SkipReason::kCap: return "cap";
    case SkipReason::kForeign: return "foreign";
    case SkipReason::kCapMac: return "cap-mac";
  }
  return "unknown";
}

const Uplink* Decision::uplink(IfIndex index) const {
  const auto it = std::find_if(uplinks.begin(), uplinks.end(),
                               [index](const Uplink& u) { return u.index == index; });
  return it == uplinks.end() ? nullptr : &*it;
}

const Desired* Decision::claim(const Ipv6Address& address) const {
  for (const auto& u : uplinks) {
    if (const auto it = desired.find({u.index, address}); it != desired.end()) return &it->second;
  }
  return nullptr;
}

bool Decision::judged() const {
  return std::any_of(uplinks.begin(), uplinks.end(),
                     [](const Uplink& u) { return !u.prefixes.empty(); });
}

Decision decide(const Config& config, const ObservedState& observed, const LivenessView& liveness,
                const Memory& memory) {
  DecisionEngine engine;
  engine.full(config, observed, liveness, memory);
  return std::move(engine).take();
}

}  // namespace ndpsync
