// The thread that watches launched environments: one epoll set holds each environment's exit
// notification and its output pipe, and every `sweep_interval` it calls the sweep (timeouts,
// freezing, keep-alive). Callbacks run on the monitor thread; an environment is named by its id,
// so the controller decides under its own lock whether it still exists.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <thread>

#include "sandbox/unique_fd.hpp"

namespace runtimed {

class EnvironmentMonitor {
 public:
  using Clock = std::chrono::steady_clock;
  struct Callbacks {
    std::function<void(uint64_t env_id)> on_output;  // its output pipe is readable
    std::function<void(uint64_t env_id)> on_exit;    // its runtime ended
    std::function<void(Clock::time_point now)> on_sweep;
  };

  EnvironmentMonitor(Callbacks callbacks, std::chrono::milliseconds sweep_interval);
  // Stops and joins the thread.
  ~EnvironmentMonitor();
  EnvironmentMonitor(const EnvironmentMonitor&) = delete;
  EnvironmentMonitor& operator=(const EnvironmentMonitor&) = delete;

  // Ids start at 1 (0 is the monitor's own wake-up).
  void watch(uint64_t env_id, int exit_fd, int output_fd);
  void unwatch(int exit_fd, int output_fd);
  // Ends the loop; idempotent.
  void stop();

 private:
  void loop();

  Callbacks callbacks_;
  std::chrono::milliseconds sweep_interval_;
  sandbox::UniqueFd epoll_;
  sandbox::UniqueFd wake_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace runtimed
