// Open-model arrival schedules: when each call of a `rate` or `replay` run is due and which
// function it goes to. A worker sends call i at its due time and counts its latency from then, so
// a server that makes calls queue cannot hide it (no coordinated omission).
#pragma once

#include <cstddef>
#include <vector>

namespace runtimed::bench {

struct Arrival {
  double due_s = 0;   // seconds after the schedule starts
  size_t target = 0;  // index into the run's functions
};

// Rate mode's schedule: how many calls a run makes, and when call `i` is due (seconds after the
// start). Constant: i / R. Ramp: the rate at t is R·t/D, so N(t) = R·t²/(2D) calls have arrived
// by t and call i is due at sqrt(2·D·i / R); R·D/2 calls in all.
size_t rate_total(double rps, double duration_s, bool ramp);
double rate_due_s(size_t i, double rps, double duration_s, bool ramp);
std::vector<Arrival> rate_schedule(double rps, double duration_s, bool ramp);

}  // namespace runtimed::bench
