// What `runtimed bench` parses from outside: a response's log tail (the REPORT line, from any
// Lambda-compatible endpoint), the cold-start phases header, the --check thresholds, the --gaps and
// --sizes lists, an Azure Functions trace file and a saved `bench --json` run (which the daemon's
// POST /runtimed/v1/bench/report reads from any client). None may crash on any input, parsed
// figures are finite (phases also non-negative), parsed thresholds evaluate on any summary, and a
// parsed trace's schedule has as many calls as replay_size says, in order.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include "runtimed/bench/azure_trace.hpp"
#include "runtimed/bench/bench_check.hpp"
#include "runtimed/bench/bench_json_read.hpp"
#include "runtimed/bench/bench_lists.hpp"
#include "runtimed/bench/cold_phases.hpp"
#include "runtimed/bench/report_line.hpp"

namespace bench = runtimed::bench;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  if (auto report = bench::parse_report_line(input)) {
    if (std::isnan(report->duration_ms)) std::abort();
  }
  if (auto phases = bench::parse_cold_phases(input)) {
    for (double v : {phases->launch_ms, phases->init_ms, phases->invoke_ms})
      if (!std::isfinite(v) || v < 0) std::abort();
  }
  if (auto thresholds = bench::parse_thresholds(input)) {
    bench::Summary summary;
    summary.cold.count = 3;
    summary.cold.p99 = 12.5;
    (void)bench::failed_thresholds(summary, *thresholds);
  }
  if (auto gaps = bench::parse_gaps(input)) {
    for (double g : *gaps)
      if (!std::isfinite(g) || g < 0) std::abort();
  }
  (void)bench::parse_sizes(input);
  if (auto saved = bench::read_run_json(input)) {
    if (saved->run.samples.size() > bench::kMaxSavedSamples) std::abort();
    for (const auto& s : saved->run.samples)
      if (!std::isfinite(s.latency_ms) || !std::isfinite(s.start_ms)) std::abort();
  }
  std::istringstream trace_text(input);
  if (auto trace = bench::parse_azure_trace(trace_text, 3)) {
    const bench::ReplayOptions options{.targets = 2, .speedup = 7, .minutes = 5};
    if (bench::replay_size(*trace, options) <= 100000) {
      const auto arrivals = bench::replay_schedule(*trace, options);
      if (arrivals.size() != bench::replay_size(*trace, options)) std::abort();
      for (size_t i = 1; i < arrivals.size(); ++i)
        if (arrivals[i].due_s < arrivals[i - 1].due_s || arrivals[i].target > 1) std::abort();
    }
  }
  return 0;
}
