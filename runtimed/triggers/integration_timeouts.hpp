// Deadlines of HTTP API integrations: API Gateway answers 503 when the function has not answered
// within the route's TimeoutInMillis (at most 30 s), while the invocation runs on to the function's
// own timeout. One thread waits for the earliest deadline; a request whose function answered first
// cancels its entry, so the table holds only requests still waiting.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <thread>
#include <utility>

#include "common/thread_annotations.hpp"

namespace runtimed {

class IntegrationTimeouts {
 public:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    Clock::time_point due;
    uint64_t id = 0;
  };

  IntegrationTimeouts();
  // Stops the thread; expiries not yet run never run.
  ~IntegrationTimeouts();
  IntegrationTimeouts(const IntegrationTimeouts&) = delete;
  IntegrationTimeouts& operator=(const IntegrationTimeouts&) = delete;

  // Runs `on_expiry` on the timer thread at `due` unless cancelled first.
  Entry add(Clock::time_point due, std::function<void()> on_expiry) EXCLUDES(mu_);
  void cancel(const Entry& entry) EXCLUDES(mu_);
  size_t pending() EXCLUDES(mu_);

 private:
  void run() EXCLUDES(mu_);

  common::Mutex mu_;
  std::condition_variable_any changed_;
  std::map<std::pair<Clock::time_point, uint64_t>, std::function<void()>> due_ GUARDED_BY(mu_);
  uint64_t next_id_ GUARDED_BY(mu_) = 0;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace runtimed
