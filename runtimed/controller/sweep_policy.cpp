// sweep_action (see sweep_policy.hpp).
#include "runtimed/controller/sweep_policy.hpp"

namespace runtimed {

SweepAction sweep_action(const SweepView& env, SweepView::Clock::time_point now,
                         const SweepLimits& limits) {
  // Init has its own limit (an invocation's timeout starts when init ends); a provisioned
  // environment initializes with no invocation waiting.
  if (env.started_ahead && !env.busy && !env.idle && !env.initialized) {
    return env.launched && now - env.launch_started > limits.init_timeout
               ? SweepAction::InitTimedOut
               : SweepAction::None;
  }
  if (env.busy) {
    if (!env.initialized) {
      return env.launched && now - env.launch_started > limits.init_timeout
                 ? SweepAction::InitTimedOut
                 : SweepAction::None;
    }
    return now > env.deadline ? SweepAction::TimedOut : SweepAction::None;
  }
  if (env.idle) {
    if (!env.provisioned && now - env.idle_since > limits.keep_alive) return SweepAction::Expired;
    if (!env.frozen && now - env.idle_since > limits.freeze_after) return SweepAction::Freeze;
  }
  return SweepAction::None;
}

}  // namespace runtimed
