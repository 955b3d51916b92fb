// The figures of Lambda's REPORT line, read from an invocation's log tail (X-Amz-Log-Result), as
// lambda-perf reads them: Duration, Billed Duration, Memory Size, Max Memory Used, Init Duration
// (present only when the invocation started its environment).
#pragma once

#include <optional>
#include <string_view>

namespace runtimed::bench {

struct ReportLine {
  double duration_ms = 0;
  double billed_duration_ms = 0;
  int memory_size_mb = 0;
  int max_memory_used_mb = 0;
  std::optional<double> init_duration_ms;
};

// The last REPORT line in `log_tail`, or nullopt when it holds none.
std::optional<ReportLine> parse_report_line(std::string_view log_tail);

}  // namespace runtimed::bench
