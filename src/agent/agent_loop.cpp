// The Asio loop around AgentCore: an event socket (subscribed before the first dump), a request
// socket behind the KernelPort, timers for resync, liveness/retries and the systemd watchdog,
// signals, and the status socket. One thread; nothing blocks except short netlink requests.
#include "ndpsync/agent_loop.hpp"

#include <malloc.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <utility>  // before Asio: Boost 1.74 uses std::exchange without including it

#include <boost/asio.hpp>

#include "guarded.hpp"
#include "ndpsync/agent.hpp"
#include "ndpsync/agent_start.hpp"
#include "ndpsync/metrics_file.hpp"
#include "ndpsync/netlink.hpp"
#include "ndpsync/packet_budget.hpp"
#include "ndpsync/packet_sockets.hpp"
#include "ndpsync/status_cache.hpp"
#include "privileges.hpp"
#include "status_server.hpp"

namespace ndpsync {
namespace {

namespace asio = boost::asio;
using SteadyClock = std::chrono::steady_clock;
constexpr std::size_t kBatchKept = 256;  // events
// The metrics file is written after each piece of work, but at most this often: a burst of
// events must not become a burst of file writes. The last change is always written, late by
// at most this much.
constexpr auto kMetricsGap = std::chrono::seconds(1);
// Each packet listener judges at most this many packets per window; beyond it the socket drops
// everything in the kernel until the window ends. A router resolving the host's containers sends
// a few solicitations a second; a flood is cut to 1,000 a second, a few percent of a core.
constexpr std::size_t kPacketBudget = 100;
constexpr auto kPacketWindow = std::chrono::milliseconds(100);
// What the metrics file says: ndpsync_up 1, or 0 after a clean stop.
enum class AgentState : std::uint8_t { kRunning, kStopped };

// A packet listener's descriptor in the loop, its budget and the timer that ends a pause.
struct PacketChannel {
  explicit PacketChannel(asio::io_context& io) : fd(io), resume(io) {}
  asio::posix::stream_descriptor fd;
  asio::steady_timer resume;
  PacketBudget budget{kPacketBudget, kPacketWindow};
};

// The packet sockets, opened while CAP_NET_RAW is still there; any may be missing.
struct PacketSockets {
  std::unique_ptr<DadProbeSource> dad;
  std::unique_ptr<SolicitationSource> solicitations;
  std::unique_ptr<AdvertPort> adverts;
};

class AgentLoop {
 public:
  AgentLoop(const Config& config, std::unique_ptr<KernelPort> kernel,
            std::unique_ptr<EventSource> events, PacketSockets packets, ConfigReloader reload)
      : kernel_(std::move(kernel)),
        events_(std::move(events)),
        event_fd_(io_, events_->fd()),
        dad_(std::move(packets.dad)),
        dad_channel_(io_),
        solicitations_(std::move(packets.solicitations)),
        solicitation_channel_(io_),
        adverts_(std::move(packets.adverts)),
        resync_timer_(io_),
        wake_timer_(io_),
        watchdog_timer_(io_),
        metrics_timer_(io_),
        signals_(io_, SIGTERM, SIGINT, SIGHUP),
        status_cache_(io_, [this](SteadyTime now) { return core_.status_text(now); }),
        status_(io_, [this] { return status_cache_.get(generation_); }),
        core_(config, *kernel_),
        reload_(std::move(reload)) {
    core_.set_advert_port(adverts_.get());
    core_.set_packet_sockets(dad_.get(), solicitations_.get());
  }

  ~AgentLoop() {
    // libnl owns the descriptor and closes it; Asio must not. The DAD listener owns its own.
    event_fd_.release();
    if (dad_channel_.fd.is_open()) dad_channel_.fd.release();
    if (solicitation_channel_.fd.is_open()) solicitation_channel_.fd.release();
  }
  AgentLoop(const AgentLoop&) = delete;
  AgentLoop& operator=(const AgentLoop&) = delete;

  int run() {
    // The socket first: an agent that cannot start (another one runs, a path is refused) must
    // not have touched the kernel.
    const auto& config = core_.config();
    if (!listen_and_drop_privileges(status_, config)) return 1;
    // READY=1 only after a first read that succeeded; otherwise exit 1 (systemd restarts us).
    const StartSteps steps{.ready =
                               [&] {
                                 spdlog::info("ndpsync agent started: {}; status on {}",
                                              core_.summary(), config.status_socket);
                               },
                           .notify = [this](const std::string& state) { notify(state); }};
    if (const auto exit_code = start_agent(core_, SteadyClock::now(), steps)) {
      return *exit_code;
    }
    start_watchdog();
    schedule_metrics();
    wait_events();
    if (dad_) {
      dad_channel_.fd.assign(dad_->fd());
      wait_packets(dad_channel_, *dad_, dad_batch_,
                   [this](const auto& batch) { core_.on_dad_probes(batch, SteadyClock::now()); });
    }
    if (solicitations_) {
      solicitation_channel_.fd.assign(solicitations_->fd());
      wait_packets(
          solicitation_channel_, *solicitations_, solicitation_batch_,
          [this](const auto& batch) { core_.on_solicitations(batch, SteadyClock::now()); });
    }
    schedule_resync();
    schedule_wake();
    wait_signals();
    io_.run();
    return exit_code_;
  }

 private:
  // After every piece of work: what status shows may have changed, and so may systemd's STATUS.
  void worked() {
    ++generation_;
    notify("");
    schedule_metrics();
  }

  // Writes the metrics file now, or arms a timer for the end of the gap since the last write.
  void schedule_metrics() {
    if (core_.config().metrics_file.empty() || metrics_armed_) return;
    const auto now = SteadyClock::now();
    if (now - metrics_written_at_ >= kMetricsGap) {
      write_metrics(AgentState::kRunning);
      return;
    }
    metrics_armed_ = true;
    metrics_timer_.expires_at(metrics_written_at_ + kMetricsGap);
    metrics_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      metrics_armed_ = false;
      write_metrics(AgentState::kRunning);
    });
  }

  // kStopped: the last write of a cleanly stopping agent. A failure is logged once, and so is
  // the recovery: the agent's job does not depend on the file.
  void write_metrics(AgentState state) {
    const auto& path = core_.config().metrics_file;
    if (path.empty()) return;
    const auto now = SteadyClock::now();
    Status status;
    const bool rendered = guarded("rendering the metrics", failures_, [&] {
      auto metrics = core_.metrics(now);
      metrics.up = state == AgentState::kRunning;
      status = write_file_atomically(path, render_prometheus(metrics));
    });
    if (!rendered) status = {.error = EINVAL, .message = "metrics file " + path + ": not rendered"};
    metrics_written_at_ = now;
    if (!status.ok() && metrics_ok_) spdlog::warn("{}", status.message);
    if (status.ok() && !metrics_ok_) spdlog::info("metrics file {} written", path);
    metrics_ok_ = status.ok();
  }

  void notify(const std::string& state) {
    const auto summary = core_.summary();
    if (state.empty() && summary == last_summary_) return;
    last_summary_ = summary;
    sd_notify(0, (state + (state.empty() ? "" : "\n") + "STATUS=" + summary).c_str());
  }

  void wait_events() {
    event_fd_.async_wait(asio::posix::stream_descriptor::wait_read,
                         [this](const boost::system::error_code& ec) {
                           if (ec) return;
                           guarded("handling netlink events", failures_, [this] { on_readable(); });
                         });
  }

  // A drain reads a bounded number of events. When more may wait, the rest is read after the
  // handlers that are ready already (signals, packets, status): the descriptor does not turn
  // readable again for data that was there before.
  void on_readable() {
    batch_.clear();
    const auto result = events_->drain(batch_);
    if (result != EventSource::Drain::kIdle && result != EventSource::Drain::kError) {
      asio::post(io_, [this] {
        guarded("handling netlink events", failures_, [this] { on_readable(); });
      });
    } else {
      wait_events();
    }
    const auto now = SteadyClock::now();
    core_.on_drained(batch_, result, now,
                     result == EventSource::Drain::kMalformed ? events_->last_error() : "");
    // A burst leaves a big batch behind (10,000 events are over a megabyte): keep a small one.
    if (batch_.capacity() > kBatchKept) std::vector<KernelEvent>().swap(batch_);
    schedule_wake();
    worked();
  }

  // A packet listener (DAD probes, solicitations): each readable wakeup drains a bounded batch
  // and hands what the budget allows to the core. A spent budget pauses the socket (drop-all in
  // the kernel) until its window ends; the loop does not wait on it meanwhile.
  template <typename Source, typename Item, typename Handle>
  void wait_packets(PacketChannel& channel, Source& source, std::vector<Item>& batch,
                    Handle handle) {
    channel.fd.async_wait(
        asio::posix::stream_descriptor::wait_read,
        [this, &channel, &source, &batch, handle](const boost::system::error_code& ec) {
          if (ec) return;
          batch.clear();
          source.drain(batch);
          const auto spent = channel.budget.spend(batch.size(), SteadyClock::now());
          batch.resize(spent.allowed);
          if (!batch.empty()) {
            guarded("handling packets", failures_, [&] { handle(batch); });
            schedule_wake();
            worked();
          }
          if (!spent.pause) {
            wait_packets(channel, source, batch, handle);
            return;
          }
          core_.note_packet_pause(source.pause());
          channel.resume.expires_at(*spent.pause);
          channel.resume.async_wait(
              [this, &channel, &source, &batch, handle](const boost::system::error_code& e) {
                if (e) return;
                if (const auto status = source.resume(); !status.ok()) {
                  spdlog::warn("{}", status.message);
                }
                wait_packets(channel, source, batch, handle);
              });
        });
  }

  void schedule_resync() {
    resync_timer_.expires_after(core_.config().resync_interval);
    resync_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      guarded("the periodic resync", failures_,
              [this] { core_.resync(SteadyClock::now(), ResyncReason::kPeriodic); });
      ::malloc_trim(0);  // the dump's snapshot is transient too
      schedule_wake();
      worked();
      schedule_resync();
    });
  }

  // Liveness deadlines and write retries: armed only while something is pending.
  void schedule_wake() {
    const auto next = core_.next_wakeup();
    if (!next) {
      wake_timer_.cancel();
      return;
    }
    if (wake_armed_ && wake_timer_.expiry() == *next) return;
    wake_armed_ = true;
    wake_timer_.expires_at(*next);
    wake_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      wake_armed_ = false;
      guarded("liveness and retries", failures_, [this] { core_.tick(SteadyClock::now()); });
      schedule_wake();
      worked();
    });
  }

  void start_watchdog() {
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return;
    watchdog_period_ = std::chrono::microseconds(usec / 2);
    ping_watchdog();
  }

  void ping_watchdog() {
    sd_notify(0, "WATCHDOG=1");
    watchdog_timer_.expires_after(watchdog_period_);
    watchdog_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) ping_watchdog();
    });
  }

  void wait_signals() {
    signals_.async_wait([this](const boost::system::error_code& ec, int signal) {
      if (ec) return;
      if (signal == SIGHUP) {
        notify("RELOADING=1");
        std::optional<Config> config;
        guarded("reading the config", failures_, [&] { config = reload_(); });
        if (config && guarded("applying the config", failures_,
                              [&] { core_.reload(std::move(*config), SteadyClock::now()); })) {
          ++generation_;
          ::malloc_trim(0);
          schedule_resync();
          schedule_wake();
          schedule_metrics();
        } else {
          spdlog::error("config reload failed: keeping the old config");
        }
        notify("READY=1");
        wait_signals();
        return;
      }
      spdlog::info(
          "{}: stopping; {}", strsignal(signal),
          core_.config().remove_on_exit ? "removing our entries" : "leaving entries in place");
      notify("STOPPING=1");
      if (core_.config().remove_on_exit) core_.remove_owned(SteadyClock::now());
      core_.release_allmulti();
      // The file stays (node_exporter's convention); it says the agent is down now.
      metrics_timer_.cancel();
      write_metrics(AgentState::kStopped);
      status_.close();
      io_.stop();
    });
  }

  asio::io_context io_;
  std::unique_ptr<KernelPort> kernel_;
  std::unique_ptr<EventSource> events_;
  asio::posix::stream_descriptor event_fd_;
  std::unique_ptr<DadProbeSource> dad_;  // nullptr: dad_snooping is off, or it could not open
  PacketChannel dad_channel_;
  std::vector<DadProbe> dad_batch_;
  std::unique_ptr<SolicitationSource> solicitations_;  // nullptr: on_demand is off, or no socket
  PacketChannel solicitation_channel_;
  std::vector<Solicitation> solicitation_batch_;
  std::unique_ptr<AdvertPort> adverts_;  // nullptr: nothing to send, or no socket
  asio::steady_timer resync_timer_;
  asio::steady_timer wake_timer_;
  asio::steady_timer watchdog_timer_;
  asio::steady_timer metrics_timer_;
  asio::signal_set signals_;
  StatusCache status_cache_;
  StatusServer status_;
  AgentCore core_;
  ConfigReloader reload_;
  std::vector<KernelEvent> batch_;
  std::chrono::microseconds watchdog_period_{0};
  std::string last_summary_;
  bool wake_armed_ = false;
  bool metrics_armed_ = false;
  bool metrics_ok_ = true;
  SteadyClock::time_point metrics_written_at_;
  std::uint64_t generation_ = 0;
  std::uint64_t failures_ = 0;  // handlers that threw (guarded.hpp)
  int exit_code_ = 0;
};

}  // namespace

int run_agent(const Config& config, const ConfigReloader& reload) {
  // Subscribe before the first dump: a change during the dump then shows up as an event.
  auto events = make_netlink_events({.event_rcvbuf = config.netlink_rcvbuf});
  if (!events.ok()) {
    spdlog::error("{}", events.status.message);
    return 1;
  }
  auto kernel = make_netlink_kernel(journal_file(config));
  if (!kernel.ok()) {
    spdlog::error("{}", kernel.status.message);
    return kernel.status.error == EINVAL ? 2 : 1;  // a malformed state file: restarting won't help
  }
  // The packet socket needs CAP_NET_RAW, and only to open it: the capability goes right after.
  // One socket on every interface serves downstream interfaces that appear later too. Without
  // it the agent runs on as before: DAD snooping only speeds up silent containers.
  PacketSockets packets;
  const auto open = [](auto opened, auto& into, const char* without) {
    if (opened.ok()) {
      into = std::move(opened.value);
    } else {
      spdlog::warn("{}; running without {} (it needs CAP_NET_RAW)", opened.status.message, without);
    }
  };
  if (config.dad_snooping) open(open_dad_listener(), packets.dad, "DAD snooping");
  if (config.on_demand) {
    open(open_solicitation_listener(), packets.solicitations, "on-demand discovery");
  }
  if (config.on_demand || config.unsolicited_na) {
    open(open_advert_port(), packets.adverts, "userspace advertisements");
  }
  if (auto status = drop_net_raw(); !status.ok()) spdlog::debug("{}", status.message);
  AgentLoop loop(config, std::move(kernel.value), std::move(events.value), std::move(packets),
                 reload);
  return loop.run();
}

}  // namespace ndpsync
