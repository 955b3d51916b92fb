// A log follower waits for new text on the log itself (no polling), and shutdown releases it.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "runtimed/controller/function_log.hpp"
#include "test_zip.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

TEST(FunctionLogWait, AFollowerWakesWhenTextIsAppended) {
  testzip::TempDir tmp;
  runtimed::FunctionLogs logs(tmp.path());
  auto log = logs.get("fn");
  log->append("before\n");
  uint64_t offset = log->end_offset();
  std::thread writer([&] {
    std::this_thread::sleep_for(100ms);
    log->append("after\n");
  });
  const auto start = Clock::now();
  EXPECT_TRUE(log->wait_for_text(offset, Clock::now() + 10s));
  EXPECT_LT(Clock::now() - start, 5s);
  writer.join();
  EXPECT_EQ(log->read_from(offset, 1 << 20), "after\n");
}

TEST(FunctionLogWait, TextAlreadyThereAnswersAtOnceAndNoTextWaitsForTheDeadline) {
  testzip::TempDir tmp;
  runtimed::FunctionLogs logs(tmp.path());
  auto log = logs.get("fn");
  log->append("line\n");
  EXPECT_TRUE(log->wait_for_text(0, Clock::now()));
  const auto start = Clock::now();
  EXPECT_FALSE(log->wait_for_text(log->end_offset(), Clock::now() + 200ms));
  EXPECT_GE(Clock::now() - start, 200ms);
}

TEST(FunctionLogWait, ReleasingWaitsWakesFollowersNowAndLater) {
  testzip::TempDir tmp;
  runtimed::FunctionLogs logs(tmp.path());
  auto log = logs.get("fn");
  std::thread releaser([&] {
    std::this_thread::sleep_for(100ms);
    logs.release_waits();
  });
  auto start = Clock::now();
  EXPECT_FALSE(log->wait_for_text(0, Clock::now() + 20s));
  EXPECT_LT(Clock::now() - start, 10s);
  releaser.join();
  // A log first asked for after the release does not wait either.
  start = Clock::now();
  EXPECT_FALSE(logs.get("other")->wait_for_text(0, Clock::now() + 20s));
  EXPECT_LT(Clock::now() - start, 10s);
}

}  // namespace
