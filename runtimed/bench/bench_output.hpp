// What `runtimed bench` prints and writes: the summary table (and the idle curve, memory sweep,
// per-function rows and client overhead when the run has them), the live progress line, every
// sample as JSON or CSV.
#pragma once

#include <string>
#include <vector>

#include "runtimed/bench/bench_check.hpp"
#include "runtimed/bench/bench_curves.hpp"
#include "runtimed/bench/bench_html.hpp"
#include "runtimed/bench/bench_runner.hpp"
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

// "0s", "500ms", "5s", "2m": an idle gap as the user would write it.
std::string gap_text(double gap_s);
// Latency by idle gap, with how the calls found their environment.
std::string idle_table(const std::vector<IdlePoint>& points);
// Duration, GB-s and cost per invocation by memory size.
std::string memory_table(const std::vector<MemoryPoint>& points);
// Latency by function, when the samples went to several (replay).
std::string function_table(const std::vector<Sample>& samples);
// The client's own cost beside the run's figures (`summary` null in overhead mode).
std::string overhead_table(const ClientOverhead& overhead, const Summary* summary);
// Everything a run prints after its progress line.
std::string run_report(const BenchRun& run, const Summary& summary,
                       const std::vector<Threshold>& thresholds,
                       const std::vector<Threshold>& failed);
// samples_json plus the run's idle curve, memory sweep, client overhead, notes and heading (what
// read_run_json reads back).
std::string run_json(const BenchRun& run, const Summary& summary, const HtmlHeading& heading);

}  // namespace runtimed::bench
