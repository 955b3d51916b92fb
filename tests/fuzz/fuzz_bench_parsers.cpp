// What `runtimed bench` parses from outside: a response's log tail (the REPORT line, from any
// Lambda-compatible endpoint), the cold-start phases header and the --check thresholds. None may
// crash on any input, parsed figures are finite (phases also non-negative), and parsed thresholds
// evaluate on any summary.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "runtimed/bench/bench_check.hpp"
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
  return 0;
}
