// The HTTP API integration deadlines' thread (see integration_timeouts.hpp).
#include "runtimed/triggers/integration_timeouts.hpp"

namespace runtimed {

IntegrationTimeouts::IntegrationTimeouts() : thread_([this] { run(); }) {}

IntegrationTimeouts::~IntegrationTimeouts() {
  {
    common::MutexLock lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

IntegrationTimeouts::Entry IntegrationTimeouts::add(Clock::time_point due,
                                                    std::function<void()> on_expiry) {
  bool earliest = false;
  Entry entry{due, 0};
  {
    common::MutexLock lock(mu_);
    entry.id = ++next_id_;
    auto it = due_.emplace(std::pair{due, entry.id}, std::move(on_expiry)).first;
    earliest = it == due_.begin();
  }
  // Only a new earliest deadline moves the thread's wake-up.
  if (earliest) changed_.notify_all();
  return entry;
}

void IntegrationTimeouts::cancel(const Entry& entry) {
  common::MutexLock lock(mu_);
  due_.erase({entry.due, entry.id});
}

size_t IntegrationTimeouts::pending() {
  common::MutexLock lock(mu_);
  return due_.size();
}

void IntegrationTimeouts::run() {
  common::MutexLock lock(mu_);
  while (!stopping_) {
    if (due_.empty()) {
      changed_.wait(lock);
      continue;
    }
    auto first = due_.begin();
    // A copy: wait_until reads its time point again after waking, when a cancel may have erased
    // the entry that held it.
    const Clock::time_point due = first->first.first;
    if (Clock::now() < due) {
      changed_.wait_until(lock, due);
      continue;
    }
    std::function<void()> expire = std::move(first->second);
    due_.erase(first);
    // Outside the lock: the expiry replies, and a reply may cancel or add entries.
    lock.unlock();
    expire();
    lock.lock();
  }
}

}  // namespace runtimed
