#include "ndpsync/reconcile_once.hpp"

#include <cerrno>
#include <set>

#include "ndpsync/proxy_writer.hpp"

namespace ndpsync {

namespace {

// Claimed neighbours the kernel has not confirmed lately (STALE, DELAY, PROBE).
std::set<IfAddressKey> unconfirmed(const Decision& decision, const ObservedState& observed) {
  std::set<IfAddressKey> keys;
  for (const auto& [key, desired] : decision.desired) {
    if (desired.source != Source::kNeighbour) continue;
    const IfAddressKey source{desired.source_ifindex, key.second};
    const auto* neighbour = observed.neighbour(source);
    if (neighbour != nullptr && !neighbour->state.in(kNudConfirmed)) {
      keys.insert(source);
    }
  }
  return keys;
}

// Probes each neighbour and waits until the kernel has a verdict on all of them, or the timeout.
void verify(KernelPort& kernel, EventSource& events, std::set<IfAddressKey> pending) {
  for (const auto& [ifindex, address] : pending) {
    kernel.probe_neighbour(ifindex, address);  // a failed probe leaves the neighbour as it was
  }
  const auto deadline = std::chrono::steady_clock::now() + kVerifyTimeout;
  std::vector<KernelEvent> batch;
  while (!pending.empty()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !events.wait(left)) {
      break;
    }
    batch.clear();
    if (const auto drained = events.drain(batch);
        drained != EventSource::Drain::kIdle && drained != EventSource::Drain::kMore) {
      break;  // lost events: the re-dump that follows has the truth
    }
    for (const auto& event : batch) {
      const auto* n = std::get_if<NeighbourEvent>(&event);
      if (n == nullptr) continue;
      if (n->change == Change::kDel || n->neighbour.state.in(kNudSettled)) {
        pending.erase({n->neighbour.ifindex, n->neighbour.address});
      }
    }
  }
}

// The same writer as the agent's, without retries: a failure is reported, and the rest is still
// applied.
void apply(KernelPort& kernel, const Plan& plan, ObservedState& observed,
           std::vector<Failure>& failures) {
  ProxyWriter writer(kernel, Retries::kNone, [] { return std::chrono::system_clock::now(); });
  const auto now = std::chrono::steady_clock::now();
  const auto write = [&](const ProxyEntry& entry, WriteOp op) {
    const auto outcome = writer.write(entry, op, observed, now);
    if (outcome.kind == WriteOutcome::Kind::kFailed) {
      failures.push_back({std::string(to_string(op)), entry.address.to_string(), outcome.status});
    }
  };
  for (const auto& entry : plan.remove) write(entry, WriteOp::kDelete);
  for (const auto& entry : plan.add) write(entry, WriteOp::kAdd);
}

Status observe(KernelPort& kernel, ObservedState& observed) {
  auto snapshot = kernel.dump();
  if (snapshot.ok()) {
    observed.replace(std::move(snapshot.value));
  }
  return snapshot.status;
}

}  // namespace

ReconcileReport reconcile_once(KernelPort& kernel, EventSource* events, const Config& config) {
  ReconcileReport report;
  report.dry_run = config.dry_run;
  ObservedState observed;
  if (auto status = observe(kernel, observed); !status.ok()) {
    report.failures.push_back({"dump", "kernel state", status});
    return report;
  }
  report.decision = decide(config, observed);
  if (events != nullptr && config.verify_neighbours && !config.dry_run) {
    if (auto pending = unconfirmed(report.decision, observed); !pending.empty()) {
      report.verified = pending.size();
      verify(kernel, *events, std::move(pending));
      if (auto status = observe(kernel, observed); !status.ok()) {
        report.failures.push_back({"dump", "kernel state", status});
        return report;
      }
      report.decision = decide(config, observed);
    }
  }
  for (const auto& [index, link] : observed.links()) {
    report.names[index] = link.name;
  }
  report.plan = reconcile(report.decision, observed.proxies(), config.owner_protocol);
  // A configured uplink that is missing is most likely a typo: the host's real uplink is then
  // no uplink of ours, and the sysctl plan holds the global writes back for it.
  for (const auto& name : report.decision.missing_uplinks) {
    report.failures.push_back(
        {"uplink",
         name,
         {.error = ENODEV, .message = "configured uplink is not present (a typo?)"}});
  }
  // No default route, and SLAAC's traces on more than one interface: guessing could turn
  // forwarding on for the wrong one, so nothing is written and the operator is asked to choose.
  if (const auto& candidates = report.decision.uplink_candidates; !candidates.empty()) {
    std::string names;
    for (const auto& c : candidates) names += (names.empty() ? "" : ",") + c.name;
    report.failures.push_back(
        {"uplink", names, {.error = ENOTUNIQ, .message = UplinkSearch{candidates}.message()}});
  }
  // Sysctls first: accept_ra must be 2 before forwarding is switched on, and entries are useless
  // until proxy_ndp is set.
  report.sysctls =
      sync_sysctls(kernel, config, observed, report.decision.uplinks,
                   config.dry_run ? SysctlMode::kDryRun : SysctlMode::kWrite, report.failures);
  if (!config.dry_run) apply(kernel, report.plan, observed, report.failures);
  return report;
}

}  // namespace ndpsync
