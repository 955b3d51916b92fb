// EnvironmentPool: a background refill of prepared environments (see environment_pool.hpp).
#include "runtimed/controller/environment_pool.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

namespace runtimed {

EnvironmentPool::EnvironmentPool(sandbox::SandboxHost& host, size_t target,
                                 sandbox::PrepareOptions shape)
    : host_(host), target_(target), shape_(shape) {
  if (target_ > 0) refiller_ = std::thread([this] { refill_loop(); });
}

EnvironmentPool::~EnvironmentPool() { stop(); }

void EnvironmentPool::stop() {
  {
    common::MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (refiller_.joinable()) refiller_.join();
  std::deque<std::unique_ptr<sandbox::Environment>> released;
  {
    common::MutexLock lock(mu_);
    released.swap(ready_);
  }
}

size_t EnvironmentPool::ready_count() {
  common::MutexLock lock(mu_);
  return ready_.size();
}

sandbox::Result<std::unique_ptr<sandbox::Environment>> EnvironmentPool::take(
    const sandbox::PrepareOptions& shape) {
  if (shape == shape_) {
    common::MutexLock lock(mu_);
    if (!ready_.empty()) {
      auto env = std::move(ready_.front());
      ready_.pop_front();
      lock.unlock();
      cv_.notify_all();
      return env;
    }
  }
  cv_.notify_all();
  return host_.prepare(shape);
}

void EnvironmentPool::refill_loop() {
  common::MutexLock lock(mu_);
  int failures = 0;
  while (!stopping_) {
    // Refill in a batch once below half: cgroup attaches back to back cost microseconds, spaced
    // out they cost an RCU grace period each.
    cv_.wait_for(lock, std::chrono::milliseconds(200),
                 [&]() REQUIRES(mu_) { return stopping_ || ready_.size() * 2 < target_ + 1; });
    if (stopping_) break;
    while (!stopping_ && ready_.size() < target_) {
      lock.unlock();
      auto env = host_.prepare(shape_);
      lock.lock();
      if (!env) {
        spdlog::warn("environment pool: prepare failed: {}", env.error().to_string());
        ++failures;
        // Back off, but wake for stop(): shutdown must not wait out the pause.
        cv_.wait_for(lock, std::chrono::milliseconds(std::min(5000, 100 * failures)),
                     [&]() REQUIRES(mu_) { return stopping_; });
        break;
      }
      failures = 0;
      ready_.push_back(std::move(*env));
    }
  }
}

}  // namespace runtimed
