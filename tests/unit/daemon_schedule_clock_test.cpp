// ScheduleClock: scaled time runs `scale` times faster from its origin, and a wait until a
// scheduled time never ends before that time has come.
#include <gtest/gtest.h>

#include "runtimed/triggers/schedule_clock.hpp"

namespace {

using runtimed::ScheduleClock;

constexpr int64_t kOrigin = 1'700'000'000'000;

int64_t wall_ms_of(ScheduleClock::WallClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

TEST(ScheduleClock, AtScaleOneIsWallTime) {
  const ScheduleClock clock(1, kOrigin);
  EXPECT_EQ(clock.to_schedule_ms(kOrigin + 12'345), kOrigin + 12'345);
  EXPECT_EQ(wall_ms_of(clock.wall_time_of(kOrigin + 60'000)), kOrigin + 60'000);
  const int64_t before = ScheduleClock::wall_ms();
  const int64_t now = ScheduleClock().now_ms();
  EXPECT_GE(now, before);
  EXPECT_LT(now - before, 1000);
}

TEST(ScheduleClock, AtSixtyAMinuteOfScheduleTakesASecond) {
  const ScheduleClock clock(60, kOrigin);
  EXPECT_EQ(clock.to_schedule_ms(kOrigin), kOrigin);
  EXPECT_EQ(clock.to_schedule_ms(kOrigin + 1000), kOrigin + 60'000);
  EXPECT_EQ(wall_ms_of(clock.wall_time_of(kOrigin + 60'000)), kOrigin + 1000);
  EXPECT_EQ(wall_ms_of(clock.wall_time_of(kOrigin + 120'000)), kOrigin + 2000);
}

TEST(ScheduleClock, AWaitNeverEndsBeforeTheScheduledTime) {
  const ScheduleClock clock(7, kOrigin);
  for (int64_t due = kOrigin - 50; due < kOrigin + 500; ++due) {
    const int64_t wall = wall_ms_of(clock.wall_time_of(due));
    EXPECT_GE(clock.to_schedule_ms(wall), due) << due;
    EXPECT_LT(clock.to_schedule_ms(wall - 1), due) << due;
  }
}

TEST(ScheduleClock, AScaleBelowOneIsOne) {
  EXPECT_EQ(ScheduleClock(0, kOrigin).scale(), 1);
  EXPECT_EQ(ScheduleClock(-5, kOrigin).scale(), 1);
}

}  // namespace
