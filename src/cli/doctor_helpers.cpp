// `doctor`'s helper programs, bounded: a fixed PATH, a deadline and an output cap (doctor.hpp).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "doctor.hpp"

namespace ndpsync::cli {
namespace {

using Clock = std::chrono::steady_clock;

std::optional<std::string> find_program(const std::string& name,
                                        const std::vector<std::string>& directories) {
  for (const auto& dir : directories) {
    std::string path = dir;
    path += '/';
    path += name;
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return std::nullopt;
}

std::string joined(const std::vector<std::string>& parts, char separator) {
  std::string text;
  for (const auto& part : parts) text += (text.empty() ? "" : std::string(1, separator)) + part;
  return text;
}

// Spawns `path` in a process group of its own (so that a stop reaches what it started too),
// stdout into `out_fd`. Returns its pid, or -1.
pid_t spawn(const std::string& path, const std::vector<std::string>& argv,
            const std::vector<std::string>& env, int out_fd) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_fd, STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  envp.reserve(env.size() + 1);
  for (const auto& item : env) envp.push_back(const_cast<char*>(item.c_str()));
  envp.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, path.c_str(), &actions, &attr, args.data(), envp.data()) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  return pid;
}

// Reads until EOF, the deadline or the cap. Returns "" or why it stopped reading.
std::string read_bounded(int fd, std::string& out, Clock::time_point deadline,
                         std::size_t max_output) {
  char buffer[65536];
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return "timeout";
    pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return "timeout";
    const auto n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return {};
    out.append(buffer, static_cast<std::size_t>(n));
    if (out.size() > max_output) return "output";
  }
}

// Waits for the child until the deadline; kills its group when it is not done by then.
bool reap(pid_t pid, Clock::time_point deadline, int& status) {
  while (true) {
    const auto done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) return true;
    if (done < 0 && errno != EINTR) return false;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void stop(pid_t pid, int& status) {
  ::kill(-pid, SIGKILL);
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

HelperRun run_helper(const std::vector<std::string>& argv, const HelperLimits& limits) {
  const auto path = find_program(argv.at(0), limits.directories);
  if (!path) return {};
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return {};
  const std::vector<std::string> env = {"PATH=" + joined(limits.directories, ':'), "LC_ALL=C"};
  const pid_t pid = spawn(*path, argv, env, pipe_fds[1]);
  ::close(pipe_fds[1]);
  if (pid < 0) {
    ::close(pipe_fds[0]);
    return {};
  }
  const auto deadline = Clock::now() + limits.timeout;
  std::string out;
  auto why = read_bounded(pipe_fds[0], out, deadline, limits.max_output);
  ::close(pipe_fds[0]);
  int status = 0;
  if (why.empty() && !reap(pid, deadline, status)) why = "timeout";
  const auto command = joined(argv, ' ');
  if (!why.empty()) {
    stop(pid, status);
    return {.output = std::nullopt,
            .problem = why == "output"
                           ? command + ": printed more than " +
                                 std::to_string(limits.max_output >> 20) + " MiB; stopped"
                           : command + ": no end within " + std::to_string(limits.timeout.count()) +
                                 " ms; stopped"};
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return {};
  return {.output = std::move(out), .problem = {}};
}

}  // namespace ndpsync::cli
