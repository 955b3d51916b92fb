// SpawnThread: a job queue drained by one long-lived thread (see spawn_thread.hpp).
#include "sandbox/spawn_thread.hpp"

namespace sandbox {

SpawnThread::SpawnThread() : thread_([this] { loop(); }) {}

SpawnThread::~SpawnThread() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void SpawnThread::post(std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void SpawnThread::loop() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

}  // namespace sandbox
