// What the monitor's sweep does with one environment: fail an invocation past its deadline (or a
// runtime whose init ran past the init timeout), retire an environment idle past keep-alive, or
// freeze one idle past freeze_after. A pure function of the environment's times, unit-tested.
#pragma once

#include <chrono>

namespace runtimed {

struct SweepLimits {
  std::chrono::milliseconds init_timeout;
  std::chrono::milliseconds keep_alive;
  std::chrono::milliseconds freeze_after;
};

// The facts about one environment that the sweep reads (under the controller's lock).
struct SweepView {
  using Clock = std::chrono::steady_clock;
  bool busy = false;         // running an invocation
  bool idle = false;         // warm, waiting for the next one
  bool initialized = false;  // its runtime asked for its first event
  bool launched = false;     // its runtime process started
  bool frozen = false;
  Clock::time_point launch_started;
  Clock::time_point deadline;  // the invocation's (busy only)
  Clock::time_point idle_since;
  bool provisioned = false;    // kept ahead (provisioned concurrency): never expires
  bool started_ahead = false;  // started with no invocation: its init has the init timeout too
};

enum class SweepAction { None, InitTimedOut, TimedOut, Expired, Freeze };

SweepAction sweep_action(const SweepView& env, SweepView::Clock::time_point now,
                         const SweepLimits& limits);

}  // namespace runtimed
