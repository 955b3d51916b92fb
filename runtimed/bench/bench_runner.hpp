// The load generator behind `runtimed bench`: invokes a function through the Lambda Invoke API of
// any endpoint (runtimed or anything speaking it) in one of the modes below, asking for the log
// tail of every call so its REPORT line tells Duration, Init Duration and Max Memory Used.
//   warm    --count N --concurrency C  after one warm-up call (not counted; none with probe off)
//   cold    --count N                  each call preceded by a drain (runtimed's admin call that
//                                      discards the function's idle environments)
//   burst   --concurrency N            N calls at once from a drained function
//   rate    --rps R --duration D       an open model: calls are due at fixed times and each one's
//                                      latency counts from when it was due, so a server that makes
//                                      calls queue cannot hide it (no coordinated omission);
//                                      with --ramp the rate rises linearly from 0 to R over D
//   idle    --gaps 0s,1s,5s --samples K  after the warm-up, K calls after each idle gap: the
//                                      freeze/thaw cost and the keep-alive cliff
//   memory  --sizes 128,256 --count N  per size: UpdateFunctionConfiguration MemorySize, N cold
//                                      and N warm calls; the original size is put back at the end
//   replay  --trace FILE               the Azure Functions 2019 trace's busiest functions, per
//                                      minute counts spread within the minute, as an open model
//   overhead                           only the client's cost against a bare loopback server
#pragma once

#include <chrono>
#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "runtimed/bench/arrival_schedule.hpp"
#include "runtimed/bench/azure_trace.hpp"
#include "runtimed/bench/bench_summary.hpp"
#include "runtimed/bench/client_overhead.hpp"

namespace runtimed::bench {

enum class Mode { Warm, Cold, Burst, Rate, Idle, Memory, Replay, Overhead };

struct BenchOptions {
  std::string endpoint = "http://127.0.0.1:9000";  // runtimed's default --listen
  std::string function;  // NAME or NAME:QUALIFIER (replay: a comma list of them)
  std::string payload = "{}";
  Mode mode = Mode::Warm;
  size_t count = 100;
  size_t concurrency = 1;
  double rps = 100;
  std::chrono::milliseconds duration{10000};
  size_t rate_workers = 64;  // calls in flight at most in rate and replay modes
  bool ramp = false;         // rate: arrivals rise linearly from 0 to `rps` over `duration`
  // idle
  std::vector<double> gaps_s{0, 1, 5, 30, 120};
  size_t samples = 3;
  // memory
  std::vector<int> sizes_mb{128, 256, 512, 1024};
  std::chrono::milliseconds update_timeout{60000};
  // replay
  std::string trace_file;
  size_t trace_functions = 1;  // the K busiest of the trace
  ReplayOptions replay;        // speedup, spread, seed, minutes (targets is set by the run)
  // Measure the client's own cost first (always, in overhead mode).
  bool baseline = false;
  // One uncounted call to each function before the run, to refuse an unreachable endpoint or an
  // unknown function up front and to leave the function warm. Off (--no-probe), the first counted
  // call is the first the endpoint sees: how another host's cold start is measured, as the first
  // call after it started.
  bool probe = true;
};

struct BenchRun {
  std::vector<Sample> samples;  // in order of start
  double duration_s = 0;        // wall time from the first call to the end of the last
  std::optional<ClientOverhead> overhead;
  std::vector<std::string> notes;  // what the run did, for the report (e.g. the replayed trace)
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
