// What `runtimed bench` prints and writes: the summary table, the live progress line, every sample
// as JSON or CSV.
#pragma once

#include <string>
#include <vector>

#include "runtimed/bench/bench_check.hpp"
#include "runtimed/bench/bench_summary.hpp"

namespace runtimed::bench {

// "done/total  rate/s  p50 … p99 …  cold %  errors" for a terminal's status line.
std::string progress_line(size_t done, size_t total, double elapsed_s,
                          const std::vector<Sample>& samples);
// Cold and warm latency percentiles apart, cold %, 429s by Reason, errors, GB-s; and the
// thresholds that failed, if any were given.
std::string summary_table(const Summary& summary, const std::vector<Threshold>& thresholds,
                          const std::vector<Threshold>& failed);
std::string samples_json(const std::vector<Sample>& samples, const Summary& summary);
std::string samples_csv(const std::vector<Sample>& samples);

}  // namespace runtimed::bench
