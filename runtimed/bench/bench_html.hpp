// `runtimed bench --html FILE`: one self-contained page (inline CSS and SVG, no script, nothing
// fetched) with the run's summary and its charts: cold and warm latency CDFs, latency over time
// with cold starts marked, the idle-gap curve (idle mode), the memory sweep's duration and cost
// curves (memory mode).
#pragma once

#include <string>

#include "runtimed/bench/bench_runner.hpp"
#include "runtimed/bench/bench_summary.hpp"

namespace runtimed::bench {

struct HtmlHeading {
  std::string mode;
  std::string function;
  std::string endpoint;
  std::string when;  // e.g. "2026-12-04 23:10 UTC"
};

std::string html_report(const BenchRun& run, const Summary& summary, const HtmlHeading& heading);
// The report's content without its page (no head, no style): the console draws a saved run with it
// inside its own page and styles.
std::string html_report_body(const BenchRun& run, const Summary& summary,
                             const HtmlHeading& heading);

}  // namespace runtimed::bench
