// Polling for a condition that becomes true in another thread or process, bounded in time.
#pragma once

#include <chrono>
#include <thread>

namespace testsupport {

// Polls `done` every `every` until it holds or `limit` passes; then once more.
template <typename Predicate, typename Rep, typename Period>
bool eventually(Predicate done, std::chrono::duration<Rep, Period> limit,
                std::chrono::milliseconds every = std::chrono::milliseconds(20)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(every);
  }
  return done();
}

}  // namespace testsupport
