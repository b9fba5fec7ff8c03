// The agent's side of the packet listeners' kernel-side filters: which interfaces each listens
// on and which targets the kernel answers without us. Rebuilt after a reconcile pass that may
// have changed them, and handed to the sockets only when different: never per packet.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "ndpsync/agent.hpp"

namespace ndpsync {

void AgentCore::set_packet_sockets(FilteredSocket* dad, FilteredSocket* solicitations) {
  dad_socket_ = dad;
  solicitation_socket_ = solicitations;
  filters_stale_ = true;
}

void AgentCore::note_packet_pause(std::size_t discarded) {
  ++counters_.packet_pauses;
  counters_.packet_discarded += discarded;
}

void AgentCore::refresh_packet_filters() {
  if (!filters_stale_) return;
  filters_stale_ = false;
  const auto& d = decision();
  const auto install = [this](FilteredSocket* socket, PacketFilter& current, PacketFilter wanted,
                              const char* who) {
    if (socket == nullptr || wanted == current) return;
    if (const auto status = socket->set_filter(wanted); !status.ok()) {
      ++counters_.errors;
      spdlog::warn("{} ({})", status.message, who);
      return;
    }
    const bool was_filtered = current.answered.empty() || socket->targets_filtered();
    current = std::move(wanted);
    ++counters_.packet_filter_updates;
    if (was_filtered && !socket->targets_filtered()) {
      spdlog::warn(
          "{}: {} proxied targets do not fit in the kernel-side filter (BPF_MAXINSNS or "
          "net.core.optmem_max); their solicitations are dropped in userspace",
          who, current.answered.size());
    }
  };
  if (dad_socket_ != nullptr && config_.dad_snooping) {
    install(dad_socket_, dad_filter_, PacketFilter{.interfaces = d.downstream}, "DAD listener");
  }
  if (solicitation_socket_ != nullptr && config_.on_demand) {
    PacketFilter wanted{.interfaces = std::vector<IfIndex>()};
    for (const auto& uplink : d.uplinks) wanted.interfaces->push_back(uplink.index);
    std::sort(wanted.interfaces->begin(), wanted.interfaces->end());
    // Every proxy entry on an uplink, ours or not: the kernel answers for all of them.
    for (const auto& [key, protocol] : observed_.proxies()) {
      if (d.uplink(key.first) != nullptr) wanted.answered.push_back(key.second);
    }
    std::sort(wanted.answered.begin(), wanted.answered.end());
    wanted.answered.erase(std::unique(wanted.answered.begin(), wanted.answered.end()),
                          wanted.answered.end());
    install(solicitation_socket_, solicitation_filter_, std::move(wanted), "solicitation listener");
  }
}

}  // namespace ndpsync
