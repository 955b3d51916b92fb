// The scheduler's clock: wall time, or (serve --schedule-time-scale N, for tests and demos) a
// clock that runs N times faster than wall time from the moment the daemon started, so that
// `rate(1 minute)` ticks every second at N = 60 and a test sees minutes of schedule in seconds.
// The expressions, the stored times and the events' `time` are all in the scaled time, so a
// scaled daemon's schedules are exactly what an unscaled one would do over a longer run.
#pragma once

#include <chrono>
#include <cstdint>

namespace runtimed {

class ScheduleClock {
 public:
  using WallClock = std::chrono::system_clock;

  // `scale` ≥ 1; `origin_ms`: the wall time (epoch ms) both clocks agree at.
  explicit ScheduleClock(int64_t scale = 1, int64_t origin_ms = wall_ms())
      : scale_(scale < 1 ? 1 : scale), origin_ms_(origin_ms) {}

  int64_t scale() const { return scale_; }

  // Schedule time now, epoch ms.
  int64_t now_ms() const { return to_schedule_ms(wall_ms()); }

  int64_t to_schedule_ms(int64_t wall) const { return origin_ms_ + (wall - origin_ms_) * scale_; }

  // The wall time at which schedule time `schedule_ms` comes (rounded up, so a wait until it
  // never wakes before it is due).
  WallClock::time_point wall_time_of(int64_t schedule_ms) const {
    const int64_t ahead = schedule_ms - origin_ms_;
    const int64_t wall = origin_ms_ + (ahead >= 0 ? (ahead + scale_ - 1) / scale_ : ahead / scale_);
    return WallClock::time_point(std::chrono::milliseconds(wall));
  }

  static int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               WallClock::now().time_since_epoch())
        .count();
  }

 private:
  int64_t scale_;
  int64_t origin_ms_;
};

}  // namespace runtimed
