// IntegrationTimeouts: expiries run at their deadline in deadline order, a cancelled one never
// runs, and destroying the table runs none that are still pending.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "runtimed/triggers/integration_timeouts.hpp"
#include "tests/eventually.hpp"

namespace {

using namespace std::chrono_literals;
using runtimed::IntegrationTimeouts;
using testsupport::eventually;

TEST(IntegrationTimeouts, ExpiriesRunAtTheirDeadlinesInDeadlineOrder) {
  IntegrationTimeouts timeouts;
  std::mutex mu;
  std::vector<int> order;
  std::vector<std::chrono::steady_clock::duration> late;
  const auto start = IntegrationTimeouts::Clock::now();
  for (const int ms : {120, 40, 80}) {
    const auto due = start + std::chrono::milliseconds(ms);
    timeouts.add(due, [&, ms, due] {
      std::lock_guard lock(mu);
      order.push_back(ms);
      late.push_back(IntegrationTimeouts::Clock::now() - due);
    });
  }
  ASSERT_TRUE(eventually(
      [&] {
        std::lock_guard lock(mu);
        return order.size() == 3;
      },
      2s));
  EXPECT_EQ(order, (std::vector<int>{40, 80, 120}));
  for (const auto d : late) {
    EXPECT_GE(d, 0ms);  // never early
    EXPECT_LT(d, 500ms);
  }
  EXPECT_EQ(timeouts.pending(), 0u);
}

TEST(IntegrationTimeouts, ACancelledExpiryNeverRuns) {
  IntegrationTimeouts timeouts;
  std::atomic<int> ran{0};
  const auto now = IntegrationTimeouts::Clock::now();
  auto cancelled = timeouts.add(now + 50ms, [&] { ran += 100; });
  timeouts.add(now + 100ms, [&] { ran += 1; });
  // The thread is now waiting until the first deadline, on the entry the cancel erases.
  std::this_thread::sleep_for(20ms);
  timeouts.cancel(cancelled);
  EXPECT_EQ(timeouts.pending(), 1u);
  ASSERT_TRUE(eventually([&] { return ran.load() != 0; }, 2s));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(ran.load(), 1);
}

TEST(IntegrationTimeouts, DestroyingTheTableRunsNoPendingExpiry) {
  std::atomic<int> ran{0};
  {
    IntegrationTimeouts timeouts;
    timeouts.add(IntegrationTimeouts::Clock::now() + 10min, [&] { ran += 1; });
  }
  EXPECT_EQ(ran.load(), 0);
}

// An expiry may add and cancel entries of its own table (a reply that starts another request).
TEST(IntegrationTimeouts, AnExpiryMayUseItsOwnTable) {
  IntegrationTimeouts timeouts;
  std::atomic<int> ran{0};
  timeouts.add(IntegrationTimeouts::Clock::now() + 10ms, [&] {
    auto later = timeouts.add(IntegrationTimeouts::Clock::now() + 1min, [&] { ran += 100; });
    timeouts.cancel(later);
    timeouts.add(IntegrationTimeouts::Clock::now() + 10ms, [&] { ran += 1; });
  });
  ASSERT_TRUE(eventually([&] { return ran.load() == 1; }, 2s));
  EXPECT_EQ(timeouts.pending(), 0u);
}

}  // namespace
