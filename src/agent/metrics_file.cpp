#include "ndpsync/metrics_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace ndpsync {

Status write_file_atomically(const std::string& path, std::string_view text) {
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string temp = (slash == std::string::npos ? "" : dir) + "." + base + ".XXXXXX";
  std::vector<char> name(temp.begin(), temp.end());
  name.push_back('\0');
  const auto failed = [&](const std::string& what, int error) {
    return Status{.error = error,
                  .message = "metrics file " + path + ": " + what + ": " + errno_name(error)};
  };
  const int fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd < 0) return failed("cannot create a temporary file in " + dir, errno);
  temp = name.data();
  const auto abandon = [&](const std::string& what) {
    const int error = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    return failed(what, error);
  };
  if (::fchmod(fd, 0644) != 0) return abandon("chmod");
  for (std::size_t done = 0; done < text.size();) {
    const auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return abandon("write");
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) {
    const int error = errno;
    ::unlink(temp.c_str());
    return failed("write", error);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temp.c_str());
    return failed("rename", error);
  }
  return {};
}

}  // namespace ndpsync
