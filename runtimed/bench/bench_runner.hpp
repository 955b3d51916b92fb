// The load generator behind `runtimed bench`: invokes a function through the Lambda Invoke API of
// any endpoint (runtimed or anything speaking it) in one of the modes below, asking for the log
// tail of every call so its REPORT line tells Duration, Init Duration and Max Memory Used.
//   warm   --count N --concurrency C   after one warm-up call (not counted)
//   cold   --count N                   each call preceded by a drain (runtimed's admin call that
//                                      discards the function's idle environments)
//   burst  --concurrency N             N calls at once from a drained function
//   rate   --rps R --duration D        an open model: calls are due at fixed times and each one's
//                                      latency counts from when it was due, so a server that makes
//                                      calls queue cannot hide it (no coordinated omission);
//                                      with --ramp the rate rises linearly from 0 to R over D
#pragma once

#include <chrono>
#include <expected>
#include <functional>
#include <string>
#include <vector>

#include "runtimed/bench/bench_summary.hpp"

namespace runtimed::bench {

enum class Mode { Warm, Cold, Burst, Rate };

struct BenchOptions {
  std::string endpoint = "http://127.0.0.1:9000";  // runtimed's default --listen
  std::string function;                            // NAME or NAME:QUALIFIER
  std::string payload = "{}";
  Mode mode = Mode::Warm;
  size_t count = 100;
  size_t concurrency = 1;
  double rps = 100;
  std::chrono::milliseconds duration{10000};
  size_t rate_workers = 64;  // calls in flight at most in rate mode
  bool ramp = false;         // rate: arrivals rise linearly from 0 to `rps` over `duration`
};

// Rate mode's schedule: how many calls a run makes, and when call `i` is due (seconds after the
// start). Constant: i / R. Ramp: the rate at t is R·t/D, so N(t) = R·t²/(2D) calls have arrived
// by t and call i is due at sqrt(2·D·i / R); R·D/2 calls in all.
size_t rate_total(double rps, double duration_s, bool ramp);
double rate_due_s(size_t i, double rps, double duration_s, bool ramp);

struct BenchRun {
  std::vector<Sample> samples;  // in order of start
  double duration_s = 0;        // wall time
};

struct Progress {
  size_t done = 0;
  size_t total = 0;  // 0 when unknown in advance
};

// Runs the benchmark; `progress` (optional) is called from time to time on the calling thread.
// An error only when the run cannot start (bad endpoint, unknown function, drain refused).
std::expected<BenchRun, std::string> run_bench(
    const BenchOptions& options,
    const std::function<void(const Progress&, const std::vector<Sample>&)>& progress = {});

// The Mode a name on the command line means.
std::expected<Mode, std::string> parse_mode(const std::string& name);

}  // namespace runtimed::bench
