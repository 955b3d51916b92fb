// EnvironmentMonitor (see environment_monitor.hpp).
#include "runtimed/controller/environment_monitor.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <system_error>

namespace runtimed {

namespace {
// Even keys: exit notifications; odd: output. Both map back to the environment's id.
constexpr uint64_t exit_key(uint64_t id) { return id << 1; }
constexpr uint64_t output_key(uint64_t id) { return (id << 1) | 1; }
constexpr uint64_t kWakeKey = 0;
}  // namespace

EnvironmentMonitor::EnvironmentMonitor(Callbacks callbacks,
                                       std::chrono::milliseconds sweep_interval)
    : callbacks_(std::move(callbacks)),
      sweep_interval_(sweep_interval),
      epoll_(::epoll_create1(EPOLL_CLOEXEC)),
      wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!epoll_ || !wake_) throw std::system_error(errno, std::generic_category(), "monitor epoll");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeKey;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &ev);
  thread_ = std::thread([this] { loop(); });
}

EnvironmentMonitor::~EnvironmentMonitor() { stop(); }

void EnvironmentMonitor::stop() {
  stopping_ = true;
  uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof one);
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void EnvironmentMonitor::watch(uint64_t env_id, int exit_fd, int output_fd) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = exit_key(env_id);
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, exit_fd, &ev);
  ev.data.u64 = output_key(env_id);
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, output_fd, &ev);
}

void EnvironmentMonitor::unwatch(int exit_fd, int output_fd) {
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, exit_fd, nullptr);
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, output_fd, nullptr);
}

void EnvironmentMonitor::loop() {
  epoll_event events[64];
  auto next_sweep = Clock::now();
  const int wait_ms = static_cast<int>(sweep_interval_.count());
  while (!stopping_) {
    const int n = ::epoll_wait(epoll_.get(), events, 64, wait_ms);
    for (int i = 0; i < n && !stopping_; ++i) {
      const uint64_t key = events[i].data.u64;
      if (key == kWakeKey) {
        uint64_t drained;
        (void)!::read(wake_.get(), &drained, sizeof drained);
      } else if (key & 1) {
        callbacks_.on_output(key >> 1);
      } else {
        callbacks_.on_exit(key >> 1);
      }
    }
    const auto now = Clock::now();
    if (!stopping_ && now >= next_sweep) {
      callbacks_.on_sweep(now);
      next_sweep = now + sweep_interval_;
    }
  }
}

}  // namespace runtimed
