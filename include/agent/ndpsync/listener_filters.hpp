// The packet listeners' kernel-side filters: which interfaces each listens on (the DAD
// listener's are the downstream interfaces, the solicitation listener's the uplinks) and which
// targets the kernel answers without us (every proxy entry on an uplink). Rebuilt after a
// reconcile pass that may have changed them, and handed to the sockets only when different:
// never per packet. Also counts the listeners' pauses (the loop's rate limit).
#pragma once

#include <cstdint>

#include "ndpsync/decision_engine.hpp"
#include "ndpsync/packet_filter.hpp"

namespace ndpsync {

struct ListenerCounters {
  std::uint64_t errors = 0;          // filters the kernel refused
  std::uint64_t filter_updates = 0;  // filters re-attached
  std::uint64_t pauses = 0;          // a listener spent its budget: it dropped all till the end
  std::uint64_t discarded = 0;       // of its window; packets read away unjudged then
};

class ListenerFilters {
 public:
  // Either may be nullptr. Not owned.
  void set_sockets(FilteredSocket* dad, FilteredSocket* solicitations);
  // A listener spent its budget; `discarded` packets were read away unjudged.
  void note_pause(std::size_t discarded) {
    ++counters_.pauses;
    counters_.discarded += discarded;
  }
  // The interfaces or the proxied targets may have changed: refresh() rebuilds the filters.
  void mark_stale() { stale_ = true; }
  void refresh(const Config& config, const Decision& decision, const ObservedState& observed);
  // True when the proxied targets do not fit in the solicitation listener's kernel filter.
  [[nodiscard]] bool targets_unfiltered() const {
    return solicitation_socket_ != nullptr && !solicitation_socket_->targets_filtered();
  }
  [[nodiscard]] const ListenerCounters& counters() const { return counters_; }

 private:
  void install(FilteredSocket& socket, PacketFilter& current, PacketFilter wanted, const char* who);

  FilteredSocket* dad_socket_ = nullptr;
  FilteredSocket* solicitation_socket_ = nullptr;
  bool stale_ = true;
  PacketFilter dad_filter_;
  PacketFilter solicitation_filter_;
  ListenerCounters counters_;
};

}  // namespace ndpsync
