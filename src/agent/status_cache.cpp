#include "ndpsync/status_cache.hpp"

#include <malloc.h>

namespace ndpsync {

StatusCache::StatusCache(boost::asio::io_context& io, Render render)
    : render_(std::move(render)), hold_timer_(io) {}

StatusCache::Document StatusCache::get(std::uint64_t generation) {
  const auto now = Clock::now();
  auto document = rendered_.lock();
  const bool fresh =
      document && rendered_generation_ == generation && now - rendered_at_ <= kMaxAge;
  if (document && (fresh || now - rendered_at_ < gap_)) return document;
  auto text = render_(now);
  text += '\n';
  const auto took = Clock::now() - now;
  ++renders_;
  // When the last connection is done with it, its pages go back to the system.
  document.reset(new std::string(std::move(text)), [](const std::string* done) {
    delete done;
    ::malloc_trim(0);
  });
  rendered_ = document;
  rendered_generation_ = generation;
  rendered_at_ = now;
  gap_ = 10 * took;
  held_ = document;
  hold_timer_.expires_after(kHold);
  hold_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) held_.reset();
  });
  // Rendering leaves freed pages behind (a few hundred bytes an entry, one at a time); hand them
  // back rather than keep them resident for the agent's lifetime.
  ::malloc_trim(0);
  return document;
}

}  // namespace ndpsync
