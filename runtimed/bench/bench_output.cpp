// The bench's output formats (see bench_output.hpp).
#include "runtimed/bench/bench_output.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace runtimed::bench {

namespace {

std::string latency_row(const char* name, const LatencySummary& s) {
  if (s.count == 0) return fmt::format("{:<6} {:>7}\n", name, 0);
  return fmt::format("{:<6} {:>7} {:>10.2f} {:>10.2f} {:>10.2f} {:>10.2f} {:>10.2f}\n", name,
                     s.count, s.p50, s.p90, s.p99, s.p999, s.max);
}

nlohmann::json latency_json(const LatencySummary& s) {
  return {{"count", s.count}, {"p50", s.p50}, {"p90", s.p90},  {"p99", s.p99},
          {"p999", s.p999},   {"max", s.max}, {"mean", s.mean}};
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace

std::string progress_line(size_t done, size_t total, double elapsed_s,
                          const std::vector<Sample>& samples) {
  const Summary s = summarize(samples, elapsed_s);
  return fmt::format(
      "{}/{}  {:.0f}/s  p50 {:.2f} ms  p99 {:.2f} ms  cold {:.0f}%  errors {}  429s {}", done,
      total == 0 ? std::string("?") : std::to_string(total), s.rate, s.all.p50, s.all.p99,
      100 * s.cold_ratio, s.errors, s.throttles);
}

std::string summary_table(const Summary& summary, const std::vector<Threshold>& thresholds,
                          const std::vector<Threshold>& failed) {
  std::string out = fmt::format("{:<6} {:>7} {:>10} {:>10} {:>10} {:>10} {:>10}\n", "ms", "count",
                                "p50", "p90", "p99", "p99.9", "max");
  out += latency_row("cold", summary.cold);
  out += latency_row("warm", summary.warm);
  out += latency_row("all", summary.all);
  if (summary.cold_launch.count > 0) {
    out += "cold start phases (runtimed):\n";
    out += latency_row(" launch", summary.cold_launch);
    out += latency_row(" init", summary.cold_init);
    out += latency_row(" invoke", summary.cold_invoke);
    out += latency_row(" other", summary.cold_other);
  }
  out += fmt::format(
      "\ncold {:.1f}%   errors {} ({:.2f}%)   429s {} ({:.2f}%)   {:.1f} calls/s over {:.2f} s"
      "   {:.6f} GB-s\n",
      100 * summary.cold_ratio, summary.errors, 100 * summary.error_ratio, summary.throttles,
      100 * summary.throttle_ratio, summary.rate, summary.duration_s, summary.gb_seconds);
  for (const auto& [reason, n] : summary.throttles_by_reason) {
    out += fmt::format("  429 {}: {}\n", reason, n);
  }
  if (!thresholds.empty()) {
    out += "\nchecks:\n";
    for (const Threshold& t : thresholds) {
      bool bad = false;
      for (const Threshold& f : failed) bad = bad || f.text == t.text;
      out += fmt::format("  {} {}  (is {:.4g})\n", bad ? "FAIL" : "ok  ", t.text,
                         metric_value(summary, t.metric));
    }
  }
  return out;
}

std::string samples_json(const std::vector<Sample>& samples, const Summary& summary) {
  nlohmann::json out;
  out["summary"] = {
      {"cold", latency_json(summary.cold)},    {"warm", latency_json(summary.warm)},
      {"all", latency_json(summary.all)},      {"errors", summary.errors},
      {"throttles", summary.throttles},        {"throttlesByReason", summary.throttles_by_reason},
      {"coldRatio", summary.cold_ratio},       {"gbSeconds", summary.gb_seconds},
      {"durationSeconds", summary.duration_s}, {"rate", summary.rate}};
  if (summary.cold_launch.count > 0) {
    out["summary"]["coldPhases"] = {{"launch", latency_json(summary.cold_launch)},
                                    {"init", latency_json(summary.cold_init)},
                                    {"invoke", latency_json(summary.cold_invoke)},
                                    {"other", latency_json(summary.cold_other)}};
  }
  auto& list = out["samples"] = nlohmann::json::array();
  for (const Sample& s : samples) {
    nlohmann::json j{{"startMs", s.start_ms},
                     {"latencyMs", s.latency_ms},
                     {"status", s.status},
                     {"cold", s.cold}};
    if (!s.error_type.empty()) j["errorType"] = s.error_type;
    if (!s.throttle_reason.empty()) j["throttleReason"] = s.throttle_reason;
    if (s.report) {
      j["durationMs"] = s.report->duration_ms;
      j["billedDurationMs"] = s.report->billed_duration_ms;
      j["memorySizeMB"] = s.report->memory_size_mb;
      j["maxMemoryUsedMB"] = s.report->max_memory_used_mb;
      if (s.report->init_duration_ms) j["initDurationMs"] = *s.report->init_duration_ms;
    }
    if (s.phases) {
      j["phases"] = {{"launchMs", s.phases->launch_ms},
                     {"initMs", s.phases->init_ms},
                     {"invokeMs", s.phases->invoke_ms}};
    }
    list.push_back(std::move(j));
  }
  return out.dump(2) + "\n";
}

std::string samples_csv(const std::vector<Sample>& samples) {
  std::string out =
      "start_ms,latency_ms,status,cold,error_type,throttle_reason,duration_ms,billed_duration_ms,"
      "init_duration_ms,memory_size_mb,max_memory_used_mb,launch_ms,init_ms,invoke_ms\n";
  for (const Sample& s : samples) {
    out += fmt::format("{:.3f},{:.3f},{},{},{},{},", s.start_ms, s.latency_ms, s.status,
                       s.cold ? 1 : 0, csv_field(s.error_type), csv_field(s.throttle_reason));
    if (s.report) {
      out += fmt::format(
          "{:.2f},{:.0f},{},{},{}", s.report->duration_ms, s.report->billed_duration_ms,
          s.report->init_duration_ms ? fmt::format("{:.2f}", *s.report->init_duration_ms)
                                     : std::string(),
          s.report->memory_size_mb, s.report->max_memory_used_mb);
    } else {
      out += ",,,,";
    }
    if (s.phases) {
      out += fmt::format(",{:.2f},{:.2f},{:.2f}\n", s.phases->launch_ms, s.phases->init_ms,
                         s.phases->invoke_ms);
    } else {
      out += ",,,\n";
    }
  }
  return out;
}

}  // namespace runtimed::bench
