#include "ndpsync/reconcile.hpp"

namespace ndpsync {

namespace {

// The plan's verdict on one key: add what is wanted and missing, keep what is wanted and ours,
// remove what is ours and no longer wanted. A foreign entry is never in a plan (policy reported
// it already).
void plan_key(const Decision& decision, const ProxyTable& installed, std::uint8_t owner,
              const IfAddressKey& key, Plan& plan) {
  const auto want = decision.desired.find(key);
  const auto have = installed.find(key);
  if (want != decision.desired.end()) {
    if (have == installed.end()) {
      plan.add.push_back({key.first, key.second, owner});
    } else if (have->second == owner) {
      plan.keep.push_back(proxy_entry(*have));
    }
    return;
  }
  if (have == installed.end() || have->second != owner || decision.uplinks.empty()) return;
  if (const auto* uplink = decision.uplink(key.first); uplink != nullptr && uplink->held()) return;
  plan.remove.push_back(proxy_entry(*have));
}

}  // namespace

Plan reconcile(const Decision& decision, const ProxyTable& installed, std::uint8_t owner,
               const Scope& scope) {
  Plan plan;
  if (!scope.is_everything()) {
    for (const auto& address : scope.addresses()) {
      for (const auto& uplink : decision.uplinks) {
        plan_key(decision, installed, owner, {uplink.index, address}, plan);
      }
    }
    return plan;
  }
  // Every key either side holds, once: both maps are sorted by key.
  auto want = decision.desired.begin();
  auto have = installed.begin();
  while (want != decision.desired.end() || have != installed.end()) {
    const bool take_want =
        have == installed.end() || (want != decision.desired.end() && want->first <= have->first);
    const auto key = take_want ? want->first : have->first;
    plan_key(decision, installed, owner, key, plan);
    if (want != decision.desired.end() && want->first == key) ++want;
    if (have != installed.end() && have->first == key) ++have;
  }
  return plan;
}

}  // namespace ndpsync
