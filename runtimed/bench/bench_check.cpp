// Threshold checks (see bench_check.hpp).
#include "runtimed/bench/bench_check.hpp"

#include <charconv>
#include <set>
#include <sstream>

namespace runtimed::bench {

namespace {

const std::set<std::string, std::less<>> kLatencyFields{"p50", "p90", "p99", "p999", "max", "mean"};
const std::set<std::string, std::less<>> kPlainMetrics{
    "errors", "throttles", "cold_ratio", "throttle_ratio", "error_ratio", "rate", "gb_seconds"};

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(" \t");
  const auto e = s.find_last_not_of(" \t");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

const LatencySummary* group(const Summary& summary, std::string_view name) {
  if (name == "cold") return &summary.cold;
  if (name == "warm") return &summary.warm;
  if (name == "all") return &summary.all;
  return nullptr;
}

}  // namespace

std::expected<std::vector<Threshold>, std::string> parse_thresholds(const std::string& spec) {
  std::vector<Threshold> out;
  std::stringstream parts(spec);
  std::string part;
  while (std::getline(parts, part, ',')) {
    part = trim(part);
    if (part.empty()) continue;
    Threshold t;
    t.text = part;
    const size_t op_at = part.find_first_of("<>=!");
    if (op_at == std::string::npos || op_at == 0) {
      return std::unexpected("--check: '" + part + "' has no comparison (< <= > >= == !=)");
    }
    t.metric = trim(part.substr(0, op_at));
    size_t op_len = 1;
    if (op_at + 1 < part.size() && part[op_at + 1] == '=') op_len = 2;
    t.op = part.substr(op_at, op_len);
    if (t.op == "=" || t.op == "!") {
      return std::unexpected("--check: '" + part + "': use == or !=");
    }
    std::string number = trim(part.substr(op_at + op_len));
    const bool latency = t.metric.find('.') != std::string::npos;
    double scale = 1;
    if (latency) {
      const auto dot = t.metric.find('.');
      const std::string g = t.metric.substr(0, dot);
      const std::string f = t.metric.substr(dot + 1);
      if ((g != "cold" && g != "warm" && g != "all") ||
          (!kLatencyFields.count(f) && f != "count")) {
        return std::unexpected("--check: unknown metric '" + t.metric + "'");
      }
      if (f != "count") {
        if (number.ends_with("ms")) {
          number.resize(number.size() - 2);
        } else if (number.ends_with("us")) {
          number.resize(number.size() - 2);
          scale = 0.001;
        } else if (number.ends_with("s")) {
          number.resize(number.size() - 1);
          scale = 1000;
        }
      }
    } else if (!kPlainMetrics.count(t.metric)) {
      return std::unexpected("--check: unknown metric '" + t.metric + "'");
    }
    const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), t.value);
    if (ec != std::errc() || end != number.data() + number.size()) {
      return std::unexpected("--check: '" + part + "': '" + number + "' is not a number");
    }
    t.value *= scale;
    out.push_back(std::move(t));
  }
  if (out.empty()) return std::unexpected("--check: no thresholds given");
  return out;
}

double metric_value(const Summary& summary, const std::string& metric) {
  if (const auto dot = metric.find('.'); dot != std::string::npos) {
    const LatencySummary* g = group(summary, std::string_view(metric).substr(0, dot));
    const std::string f = metric.substr(dot + 1);
    if (g == nullptr) return 0;
    if (f == "p50") return g->p50;
    if (f == "p90") return g->p90;
    if (f == "p99") return g->p99;
    if (f == "p999") return g->p999;
    if (f == "max") return g->max;
    if (f == "mean") return g->mean;
    if (f == "count") return static_cast<double>(g->count);
    return 0;
  }
  if (metric == "errors") return static_cast<double>(summary.errors);
  if (metric == "throttles") return static_cast<double>(summary.throttles);
  if (metric == "cold_ratio") return summary.cold_ratio;
  if (metric == "throttle_ratio") return summary.throttle_ratio;
  if (metric == "error_ratio") return summary.error_ratio;
  if (metric == "rate") return summary.rate;
  if (metric == "gb_seconds") return summary.gb_seconds;
  return 0;
}

std::vector<Threshold> failed_thresholds(const Summary& summary,
                                         const std::vector<Threshold>& thresholds) {
  std::vector<Threshold> failed;
  for (const Threshold& t : thresholds) {
    const double v = metric_value(summary, t.metric);
    bool holds = false;
    if (t.op == "<") holds = v < t.value;
    if (t.op == "<=") holds = v <= t.value;
    if (t.op == ">") holds = v > t.value;
    if (t.op == ">=") holds = v >= t.value;
    if (t.op == "==") holds = v == t.value;
    if (t.op == "!=") holds = v != t.value;
    if (!holds) failed.push_back(t);
  }
  return failed;
}

}  // namespace runtimed::bench
