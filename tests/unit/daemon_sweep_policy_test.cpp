// What the sweep does with an environment, from its times alone.
#include <gtest/gtest.h>

#include "runtimed/controller/sweep_policy.hpp"

namespace runtimed {
namespace {

using namespace std::chrono_literals;
using Clock = SweepView::Clock;

const SweepLimits kLimits{.init_timeout = 10s, .keep_alive = 600s, .freeze_after = 1s};

TEST(SweepPolicy, ABusyEnvironmentTimesOutOnlyPastItsDeadline) {
  const auto now = Clock::now();
  SweepView env{.busy = true, .initialized = true, .launched = true, .deadline = now + 1ms};
  EXPECT_EQ(sweep_action(env, now, kLimits), SweepAction::None);
  env.deadline = now - 1ms;
  EXPECT_EQ(sweep_action(env, now, kLimits), SweepAction::TimedOut);
}

TEST(SweepPolicy, InitHasItsOwnLimitCountedFromLaunch) {
  const auto now = Clock::now();
  // The invocation's deadline does not apply before init ends.
  SweepView env{.busy = true, .launched = true, .launch_started = now - 9s, .deadline = now - 5s};
  EXPECT_EQ(sweep_action(env, now, kLimits), SweepAction::None);
  env.launch_started = now - 11s;
  EXPECT_EQ(sweep_action(env, now, kLimits), SweepAction::InitTimedOut);
  // Not yet launched (still being set up): no clock runs.
  env.launched = false;
  EXPECT_EQ(sweep_action(env, now, kLimits), SweepAction::None);
}

TEST(SweepPolicy, AProvisionedEnvironmentIsFrozenButNeverExpiresAndItsInitIsTimed) {
  const auto now = Clock::now();
  SweepView idle{.idle = true, .idle_since = now - 3600s, .provisioned = true};
  EXPECT_EQ(sweep_action(idle, now, kLimits), SweepAction::Freeze);
  idle.frozen = true;
  EXPECT_EQ(sweep_action(idle, now, kLimits), SweepAction::None);
  // Started with no invocation (even after its config went): its init has the init timeout.
  SweepView starting{.launched = true, .launch_started = now - 9s, .started_ahead = true};
  EXPECT_EQ(sweep_action(starting, now, kLimits), SweepAction::None);
  starting.launch_started = now - 11s;
  EXPECT_EQ(sweep_action(starting, now, kLimits), SweepAction::InitTimedOut);
}

TEST(SweepPolicy, AnIdleEnvironmentIsFrozenThenExpires) {
  const auto now = Clock::now();
  SweepView env{.idle = true, .idle_since = now - 500ms};
  EXPECT_EQ(sweep_action(env, now, kLimits), SweepAction::None);
  env.idle_since = now - 2s;
  EXPECT_EQ(sweep_action(env, now, kLimits), SweepAction::Freeze);
  env.frozen = true;
  EXPECT_EQ(sweep_action(env, now, kLimits), SweepAction::None);
  env.idle_since = now - 601s;
  EXPECT_EQ(sweep_action(env, now, kLimits), SweepAction::Expired);
}

TEST(SweepPolicy, AStartingEnvironmentIsLeftAlone) {
  const auto now = Clock::now();
  EXPECT_EQ(sweep_action(SweepView{.idle_since = now - 1000s}, now, kLimits), SweepAction::None);
}

}  // namespace
}  // namespace runtimed
