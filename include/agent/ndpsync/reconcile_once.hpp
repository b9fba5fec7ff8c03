// `ndpsync reconcile`: look once, apply the difference through the same ProxyWriter the agent
// uses (without retries), report. Talks to the kernel only through its ports, so the unit tests
// drive it with the fake.
#pragma once

#include <chrono>

#include "ndpsync/oneshot.hpp"

namespace ndpsync {

// How long a one-shot run waits for probed neighbours: the kernel declares a silent one FAILED
// after ucast_solicit (3) x retrans_time (1 s).
constexpr std::chrono::milliseconds kVerifyTimeout{4000};

// `events` (subscribed before the dump) lets a run verify unconfirmed neighbours; without it,
// or with config.verify_neighbours off, every present neighbour is taken at its word.
ReconcileReport reconcile_once(KernelPort& kernel, EventSource* events, const Config& config);

}  // namespace ndpsync
