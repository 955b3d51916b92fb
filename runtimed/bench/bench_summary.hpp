// The bench's samples and what they add up to: latency percentiles for cold and warm invocations
// apart, the cold ratio, 429s by Reason, errors, and the compute used in GB-seconds (Lambda's
// billing unit: billed duration × memory size).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "runtimed/bench/cold_phases.hpp"
#include "runtimed/bench/report_line.hpp"

namespace runtimed::bench {

struct Sample {
  double start_ms = 0;          // since the run began (for rate: the intended send time)
  double latency_ms = 0;        // client-observed; for rate, from the intended send time
  int status = 0;               // HTTP status; 0 when the request failed to connect or send
  std::string error_type;       // x-amzn-ErrorType, or X-Amz-Function-Error, or the transport error
  std::string throttle_reason;  // a 429's Reason
  bool cold = false;            // its REPORT has an Init Duration
  std::optional<ReportLine> report;
  std::optional<ColdPhases> phases;  // cold starts on runtimed (X-Runtimed-Cold-Start-Phases)
  std::optional<double> thaw_ms;     // warm, after thawing a frozen environment (runtimed)
  // What the mode varied for this sample: the idle gap before it (idle), the function's
  // MemorySize (memory), the function it went to (replay onto several).
  std::optional<double> idle_gap_s;
  int memory_mb = 0;
  std::string function;
};

struct LatencySummary {
  size_t count = 0;
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0, mean = 0;
};

struct Summary {
  LatencySummary all, cold, warm;
  // Cold latency broken down, over the cold samples that told their phases: sandbox launch,
  // runtime init, first invocation, and the rest of the client's latency (HTTP, queueing, the
  // bench itself).
  LatencySummary cold_launch, cold_init, cold_invoke, cold_other;
  size_t errors = 0;     // neither 200 nor 429, or a function error
  size_t throttles = 0;  // 429
  std::map<std::string, size_t> throttles_by_reason;
  double cold_ratio = 0;      // of answered invocations
  double throttle_ratio = 0;  // of all
  double error_ratio = 0;     // of all
  double gb_seconds = 0;      // Σ billed duration × memory size
  double duration_s = 0;      // wall time of the run
  double rate = 0;            // samples per second of wall time
};

// Nearest-rank percentile of sorted values (q in [0, 1]); 0 when empty.
double percentile(const std::vector<double>& sorted, double q);
LatencySummary summarize_latency(std::vector<double> latencies_ms);
Summary summarize(const std::vector<Sample>& samples, double duration_s);

}  // namespace runtimed::bench
