#include "status_client.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace ndpsync::cli {
namespace {

Result<std::string> failed(int error, std::string message) {
  return {.status = {.error = error, .message = std::move(message)}, .value = {}};
}

}  // namespace

Result<std::string> query_status(const std::string& socket_path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(address.sun_path)) {
    return failed(ENAMETOOLONG, "socket path too long: " + socket_path);
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return failed(errno, "cannot create a socket for " + socket_path + ": " + std::strerror(errno));
  }
  std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
  timeval timeout{.tv_sec = 5, .tv_usec = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) < 0) {
    const int error = errno;
    ::close(fd);
    return failed(error, "no agent answers on " + socket_path + ": " + std::strerror(error));
  }
  Result<std::string> result;
  std::array<char, 65536> buffer{};
  while (true) {
    const auto n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      return failed(error, "reading from " + socket_path + ": " + std::strerror(error));
    }
    if (n == 0) break;
    result.value.append(buffer.data(), static_cast<std::size_t>(n));
  }
  ::close(fd);
  return result;
}

}  // namespace ndpsync::cli
