// The status socket: a Unix stream socket that answers every connection with one JSON document
// and closes it. Created with the configured mode from the start (umask, not chmod after bind,
// so there is no window and no path to follow); a stale socket from a crashed run is replaced,
// anything else at the path is refused. A client that never reads is cut off after a timeout.
#pragma once

#include <utility>  // before Asio: Boost 1.74 uses std::exchange without including it

#include <sys/types.h>

#include <boost/asio.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ndpsync/kernel_port.hpp"

namespace ndpsync {

class StatusServer {
 public:
  // The document to send, newline-terminated; connections that are served together share it.
  using Document = std::shared_ptr<const std::string>;
  using Render = std::function<Document()>;

  StatusServer(boost::asio::io_context& io, Render render);
  ~StatusServer();
  StatusServer(const StatusServer&) = delete;
  StatusServer& operator=(const StatusServer&) = delete;

  // Who gets the socket's directory when listen() creates it: the user a root-started agent
  // becomes, so that it can still remove its socket when it stops. A directory that exists is
  // left as it is (the socket then stays behind, and the next start replaces it as stale).
  struct DirOwner {
    uid_t uid;
    gid_t gid;
  };
  Status listen(const std::string& path, unsigned mode, const std::string& group,
                std::optional<DirOwner> new_dir_owner = std::nullopt);
  void close();

 private:
  void accept();

  boost::asio::io_context& io_;
  Render render_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  std::string path_;
  struct Connection;
  std::vector<std::weak_ptr<Connection>> open_;
  std::uint64_t failures_ = 0;  // renderings that threw (guarded.hpp)
};

}  // namespace ndpsync
