// What the idle and memory modes add up to: latency by idle gap (with how many calls found their
// environment gone, frozen or warm), and duration and cost by memory size (power-tuning style).
#pragma once

#include <vector>

#include "runtimed/bench/bench_summary.hpp"

namespace runtimed::bench {

// Lambda's on-demand x86 price (us-east-1): per GB-second of billed duration, and per request.
inline constexpr double kUsdPerGbSecond = 0.0000166667;
inline constexpr double kUsdPerRequest = 0.0000002;

struct IdlePoint {
  double gap_s = 0;
  LatencySummary latency;  // answered calls after this gap
  size_t cold = 0;         // started a new environment (REPORT has Init Duration)
  size_t thawed = 0;       // found it frozen (runtimed's X-Runtimed-Thawed)
  size_t warm = 0;         // found it running
  double thaw_ms = 0;      // mean thaw time of the thawed ones
};

// One point per gap, in the order of the gaps, from the samples that have idle_gap_s.
std::vector<IdlePoint> idle_curve(const std::vector<Sample>& samples);

struct MemoryPoint {
  int memory_mb = 0;
  LatencySummary cold, warm;   // client latency
  double duration_ms = 0;      // mean REPORT Duration of the warm calls
  double billed_ms = 0;        // mean Billed Duration of the warm calls
  double init_ms = 0;          // mean Init Duration of the cold calls
  double gb_seconds = 0;       // per warm invocation: billed duration × memory
  double usd_per_million = 0;  // a million warm invocations at Lambda's price
};

// One point per memory size, smallest first, from the samples that have memory_mb.
std::vector<MemoryPoint> memory_sweep(const std::vector<Sample>& samples);

}  // namespace runtimed::bench
