// `--check 'cold.p99<50ms,errors==0,cold_ratio<0.05'`: thresholds on a run's Summary, for CI (k6's
// thresholds). A metric is `cold.`, `warm.` or `all.` with p50, p90, p99, p999, max, mean or count,
// or one of errors, throttles, cold_ratio, throttle_ratio, error_ratio, rate, gb_seconds. Latencies
// take ms, s or us (default ms). Operators: < <= > >= == !=.
#pragma once

#include <expected>
#include <string>
#include <vector>

#include "runtimed/bench/bench_summary.hpp"

namespace runtimed::bench {

struct Threshold {
  std::string text;    // as written, for the report
  std::string metric;  // e.g. "cold.p99"
  std::string op;
  double value = 0;  // latencies in ms
};

// The thresholds of a --check argument, or what is wrong with it.
std::expected<std::vector<Threshold>, std::string> parse_thresholds(const std::string& spec);
// The value of `metric` in `summary` (the metric was validated by parse_thresholds).
double metric_value(const Summary& summary, const std::string& metric);
// The thresholds `summary` fails (empty: all hold).
std::vector<Threshold> failed_thresholds(const Summary& summary,
                                         const std::vector<Threshold>& thresholds);

}  // namespace runtimed::bench
