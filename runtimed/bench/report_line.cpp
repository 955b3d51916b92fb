// parse_report_line (see report_line.hpp).
#include "runtimed/bench/report_line.hpp"

#include <charconv>
#include <cmath>
#include <limits>
#include <string>

namespace runtimed::bench {

namespace {

// The number after "\t<key>: " in `line` (every REPORT field starts after a tab, so "Duration"
// never matches inside "Billed Duration").
std::optional<double> field(std::string_view line, std::string_view key) {
  const std::string needle = "\t" + std::string(key) + ": ";
  const size_t at = line.find(needle);
  if (at == std::string_view::npos) return std::nullopt;
  double value = 0;
  const char* begin = line.data() + at + needle.size();
  const auto [end, ec] = std::from_chars(begin, line.data() + line.size(), value);
  // A figure is a finite, non-negative number: "nan", "inf" or "-1" from an endpoint is no figure.
  if (ec != std::errc() || !std::isfinite(value) || value < 0) return std::nullopt;
  return value;
}

// Megabytes as a whole number; 0 for what no int holds.
int whole_megabytes(std::optional<double> mb) {
  if (!mb || *mb > static_cast<double>(std::numeric_limits<int>::max())) return 0;
  return static_cast<int>(*mb);
}

}  // namespace

std::optional<ReportLine> parse_report_line(std::string_view log_tail) {
  const size_t start = log_tail.rfind("REPORT RequestId:");
  if (start == std::string_view::npos) return std::nullopt;
  std::string_view line = log_tail.substr(start);
  line = line.substr(0, line.find('\n'));
  ReportLine report;
  const auto duration = field(line, "Duration");
  if (!duration) return std::nullopt;
  report.duration_ms = *duration;
  report.billed_duration_ms = field(line, "Billed Duration").value_or(0);
  report.memory_size_mb = whole_megabytes(field(line, "Memory Size"));
  report.max_memory_used_mb = whole_megabytes(field(line, "Max Memory Used"));
  report.init_duration_ms = field(line, "Init Duration");
  return report;
}

}  // namespace runtimed::bench
