// Open-model arrival schedules (see arrival_schedule.hpp).
#include "runtimed/bench/arrival_schedule.hpp"

#include <cmath>

namespace runtimed::bench {

size_t rate_total(double rps, double duration_s, bool ramp) {
  return static_cast<size_t>(rps * duration_s / (ramp ? 2 : 1));
}

double rate_due_s(size_t i, double rps, double duration_s, bool ramp) {
  const auto n = static_cast<double>(i);
  return ramp ? std::sqrt(2 * duration_s * n / rps) : n / rps;
}

std::vector<Arrival> rate_schedule(double rps, double duration_s, bool ramp) {
  std::vector<Arrival> out(rate_total(rps, duration_s, ramp));
  for (size_t i = 0; i < out.size(); ++i) out[i].due_s = rate_due_s(i, rps, duration_s, ramp);
  return out;
}

}  // namespace runtimed::bench
