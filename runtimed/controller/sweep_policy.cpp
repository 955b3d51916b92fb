// sweep_action (see sweep_policy.hpp).
#include "runtimed/controller/sweep_policy.hpp"

namespace runtimed {

SweepAction sweep_action(const SweepView& env, SweepView::Clock::time_point now,
                         const SweepLimits& limits) {
  if (env.busy) {
    // Init has its own limit; the invocation's timeout starts when init ends.
    if (!env.initialized) {
      return env.launched && now - env.launch_started > limits.init_timeout
                 ? SweepAction::InitTimedOut
                 : SweepAction::None;
    }
    return now > env.deadline ? SweepAction::TimedOut : SweepAction::None;
  }
  if (env.idle) {
    if (now - env.idle_since > limits.keep_alive) return SweepAction::Expired;
    if (!env.frozen && now - env.idle_since > limits.freeze_after) return SweepAction::Freeze;
  }
  return SweepAction::None;
}

}  // namespace runtimed
