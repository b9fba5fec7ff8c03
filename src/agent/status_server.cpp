#include "status_server.hpp"

#include <grp.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "guarded.hpp"
#include "ndpsync/result.hpp"

namespace ndpsync {
namespace {

namespace asio = boost::asio;
using Local = asio::local::stream_protocol;

constexpr std::size_t kMaxConnections = 16;
constexpr auto kClientTimeout = std::chrono::seconds(5);

}  // namespace

// One document per connection; the connection owns its buffer and its deadline.
struct StatusServer::Connection {
  Connection(Local::socket s, asio::io_context& io, Document text)
      : socket(std::move(s)), timer(io, kClientTimeout), body(std::move(text)) {}

  Local::socket socket;
  asio::steady_timer timer;
  Document body;
};

namespace {

Status errno_status(const std::string& what) {
  const int error = errno;
  return {.error = error, .message = what + ": " + errno_name(error)};
}

}  // namespace

StatusServer::StatusServer(asio::io_context& io, Render render)
    : io_(io), render_(std::move(render)), acceptor_(io) {}

StatusServer::~StatusServer() { close(); }

void StatusServer::close() {
  if (acceptor_.is_open()) {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    ::unlink(path_.c_str());
  }
}

Status StatusServer::listen(const std::string& path, unsigned mode, const std::string& group,
                            std::optional<DirOwner> new_dir_owner) {
  const auto dir = std::filesystem::path(path).parent_path();
  if (::mkdir(dir.c_str(), 0755) == 0) {
    if (new_dir_owner && ::chown(dir.c_str(), new_dir_owner->uid, new_dir_owner->gid) < 0) {
      return errno_status("chown " + dir.string());
    }
  } else if (errno != EEXIST) {
    return errno_status("create " + dir.string());
  }
  struct stat st = {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      errno = EEXIST;
      return errno_status("refusing to replace " + path + ": it is not a socket");
    }
    // A live agent answers on it: never take its socket over. Otherwise it is a socket left by
    // a run that did not exit cleanly.
    Local::socket probe(io_);
    boost::system::error_code ec;
    probe.connect(Local::endpoint(path), ec);
    if (!ec) {
      errno = EADDRINUSE;
      return errno_status("another ndpsync agent is running on " + path);
    }
    ::unlink(path.c_str());
  }
  gid_t gid = static_cast<gid_t>(-1);
  if (!group.empty()) {
    const auto* entry = ::getgrnam(group.c_str());
    if (entry == nullptr) {
      errno = ENOENT;
      return errno_status("status socket group '" + group + "'");
    }
    gid = entry->gr_gid;
  }
  boost::system::error_code ec;
  acceptor_.open(Local(), ec);
  const mode_t old_mask = ::umask(~static_cast<mode_t>(mode) & 0777);
  if (!ec) acceptor_.bind(Local::endpoint(path), ec);
  ::umask(old_mask);
  if (!ec) acceptor_.listen(kMaxConnections, ec);
  if (ec) {
    return {.error = ec.value(), .message = "status socket " + path + ": " + ec.message()};
  }
  path_ = path;
  if (gid != static_cast<gid_t>(-1) &&
      ::fchownat(AT_FDCWD, path.c_str(), static_cast<uid_t>(-1), gid, AT_SYMLINK_NOFOLLOW) < 0) {
    return errno_status("chown " + path);
  }
  accept();
  return {};
}

void StatusServer::accept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, Local::socket socket) {
    if (ec == asio::error::operation_aborted) {
      return;
    }
    if (!ec) {
      // A client that never reads holds a slot until its timeout; when all are held, the
      // oldest gives way, so that a handful of stuck clients cannot lock `status` out.
      std::erase_if(open_, [](const std::weak_ptr<Connection>& c) { return c.expired(); });
      if (open_.size() >= kMaxConnections) {
        if (auto oldest = open_.front().lock()) {
          boost::system::error_code ignored;
          oldest->socket.close(ignored);
        }
        open_.erase(open_.begin());
      }
      Document body;
      if (!guarded("rendering the status", failures_, [&] { body = render_(); }) || !body) {
        boost::system::error_code ignored;
        socket.close(ignored);  // the client sees a connection closed without an answer
      } else {
        auto c = std::make_shared<Connection>(std::move(socket), io_, std::move(body));
        open_.push_back(c);
        c->timer.async_wait([c](const boost::system::error_code& e) {
          if (!e) {
            boost::system::error_code ignored;
            c->socket.close(ignored);  // a client that does not read is cut off
          }
        });
        asio::async_write(c->socket, asio::buffer(*c->body),
                          [c](const boost::system::error_code&, std::size_t) {
                            boost::system::error_code ignored;
                            c->socket.shutdown(Local::socket::shutdown_both, ignored);
                            c->socket.close(ignored);
                            c->timer.cancel();
                          });
      }
    }
    accept();
  });
}

}  // namespace ndpsync
