#include "ndpsync/listener_filters.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace ndpsync {

void ListenerFilters::set_sockets(FilteredSocket* dad, FilteredSocket* solicitations) {
  dad_socket_ = dad;
  solicitation_socket_ = solicitations;
  stale_ = true;
}

void ListenerFilters::install(FilteredSocket& socket, PacketFilter& current, PacketFilter wanted,
                              const char* who) {
  if (wanted == current) return;
  if (const auto status = socket.set_filter(wanted); !status.ok()) {
    ++counters_.errors;
    spdlog::warn("{} ({})", status.message, who);
    return;
  }
  const bool was_filtered = current.answered.empty() || socket.targets_filtered();
  current = std::move(wanted);
  ++counters_.filter_updates;
  if (was_filtered && !socket.targets_filtered()) {
    spdlog::warn(
        "{}: {} proxied targets do not fit in the kernel-side filter (BPF_MAXINSNS or "
        "net.core.optmem_max); their solicitations are dropped in userspace",
        who, current.answered.size());
  }
}

void ListenerFilters::refresh(const Config& config, const Decision& d,
                              const ObservedState& observed) {
  if (!stale_) return;
  stale_ = false;
  if (dad_socket_ != nullptr && config.dad_snooping) {
    install(*dad_socket_, dad_filter_, PacketFilter{.interfaces = d.downstream}, "DAD listener");
  }
  if (solicitation_socket_ != nullptr && config.on_demand) {
    PacketFilter wanted{.interfaces = std::vector<IfIndex>()};
    for (const auto& uplink : d.uplinks) wanted.interfaces->push_back(uplink.index);
    std::sort(wanted.interfaces->begin(), wanted.interfaces->end());
    // Every proxy entry on an uplink, ours or not: the kernel answers for all of them.
    for (const auto& [key, protocol] : observed.proxies()) {
      if (d.uplink(key.first) != nullptr) wanted.answered.push_back(key.second);
    }
    std::sort(wanted.answered.begin(), wanted.answered.end());
    wanted.answered.erase(std::unique(wanted.answered.begin(), wanted.answered.end()),
                          wanted.answered.end());
    install(*solicitation_socket_, solicitation_filter_, std::move(wanted),
            "solicitation listener");
  }
}

}  // namespace ndpsync
