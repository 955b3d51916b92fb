// The bench's output formats (see bench_output.hpp).
#include "runtimed/bench/bench_output.hpp"

#include <fmt/format.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

namespace runtimed::bench {

namespace {

std::string latency_row(const char* name, const LatencySummary& s) {
  if (s.count == 0) return fmt::format("{:<7} {:>6}\n", name, 0);
  return fmt::format("{:<7} {:>6} {:>10.2f} {:>10.2f} {:>10.2f} {:>10.2f} {:>10.2f}\n", name,
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
  std::string out = fmt::format("{:<7} {:>6} {:>10} {:>10} {:>10} {:>10} {:>10}\n", "ms", "count",
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

static nlohmann::json samples_json_value(const std::vector<Sample>& samples,
                                         const Summary& summary) {
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
    if (s.thaw_ms) j["thawMs"] = *s.thaw_ms;
    if (s.idle_gap_s) j["idleGapSeconds"] = *s.idle_gap_s;
    if (s.memory_mb > 0) j["configuredMemoryMB"] = s.memory_mb;
    if (!s.function.empty()) j["function"] = s.function;
    list.push_back(std::move(j));
  }
  return out;
}

std::string samples_json(const std::vector<Sample>& samples, const Summary& summary) {
  return samples_json_value(samples, summary).dump(2) + "\n";
}

std::string samples_csv(const std::vector<Sample>& samples) {
  std::string out =
      "start_ms,latency_ms,status,cold,error_type,throttle_reason,duration_ms,billed_duration_ms,"
      "init_duration_ms,memory_size_mb,max_memory_used_mb,launch_ms,init_ms,invoke_ms,thaw_ms,"
      "idle_gap_s,configured_memory_mb,function\n";
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
      out += fmt::format(",{:.2f},{:.2f},{:.2f}", s.phases->launch_ms, s.phases->init_ms,
                         s.phases->invoke_ms);
    } else {
      out += ",,,";
    }
    out += s.thaw_ms ? fmt::format(",{:.2f}", *s.thaw_ms) : std::string(",");
    out += s.idle_gap_s ? fmt::format(",{:g}", *s.idle_gap_s) : std::string(",");
    out += s.memory_mb > 0 ? fmt::format(",{}", s.memory_mb) : std::string(",");
    out += "," + csv_field(s.function) + "\n";
  }
  return out;
}

std::string gap_text(double gap_s) {
  if (gap_s == 0) return "0s";
  if (gap_s < 1) return fmt::format("{:g}ms", gap_s * 1000);
  if (gap_s >= 60 && std::fmod(gap_s, 60) == 0) return fmt::format("{:g}m", gap_s / 60);
  return fmt::format("{:g}s", gap_s);
}

std::string idle_table(const std::vector<IdlePoint>& points) {
  std::string out = fmt::format("{:<8} {:>6} {:>10} {:>10} {:>6} {:>7} {:>6} {:>10}\n", "idle",
                                "count", "p50 ms", "max ms", "cold", "thawed", "warm", "thaw ms");
  for (const IdlePoint& p : points) {
    out +=
        fmt::format("{:<8} {:>6} {:>10.2f} {:>10.2f} {:>6} {:>7} {:>6} {:>10}\n", gap_text(p.gap_s),
                    p.latency.count, p.latency.p50, p.latency.max, p.cold, p.thawed, p.warm,
                    p.thawed > 0 ? fmt::format("{:.2f}", p.thaw_ms) : std::string("-"));
  }
  return out;
}

std::string memory_table(const std::vector<MemoryPoint>& points) {
  std::string out =
      fmt::format("{:<8} {:>10} {:>10} {:>10} {:>11} {:>10} {:>12} {:>11}\n", "MB", "cold p50",
                  "init", "warm p50", "duration", "billed", "GB-s/call", "$/1M calls");
  for (const MemoryPoint& p : points) {
    out +=
        fmt::format("{:<8} {:>10.2f} {:>10.2f} {:>10.2f} {:>11.3f} {:>10.0f} {:>12.7f} {:>11.4f}\n",
                    p.memory_mb, p.cold.p50, p.init_ms, p.warm.p50, p.duration_ms, p.billed_ms,
                    p.gb_seconds, p.usd_per_million);
  }
  out += fmt::format(
      "(ms; duration and billed: REPORT's, mean of the warm calls; cost at ${:.10f}/GB-s + "
      "${:.2f} per 1M requests)\n",
      kUsdPerGbSecond, kUsdPerRequest * 1e6);
  return out;
}

std::string function_table(const std::vector<Sample>& samples) {
  std::map<std::string, std::vector<Sample>> by_function;
  for (const Sample& s : samples)
    if (!s.function.empty()) by_function[s.function].push_back(s);
  if (by_function.size() < 2) return {};
  std::string out = fmt::format("{:<20} {:>7} {:>10} {:>10} {:>7} {:>7}\n", "function", "count",
                                "p50", "p99", "cold", "errors");
  for (const auto& [name, list] : by_function) {
    const Summary s = summarize(list, 0);
    out += fmt::format("{:<20} {:>7} {:>10.2f} {:>10.2f} {:>7} {:>7}\n", name, list.size(),
                       s.all.p50, s.all.p99, s.cold.count, s.errors);
  }
  return out;
}

std::string overhead_table(const ClientOverhead& overhead, const Summary* summary) {
  std::string out = fmt::format(
      "client overhead (the same client against a bare loopback server in this process):\n"
      "  per call p50 {:.3f} ms  p99 {:.3f} ms  mean {:.3f} ms ({} calls one at a time)\n"
      "  max rate {:.0f} calls/s with {} connections\n",
      overhead.per_call.p50, overhead.per_call.p99, overhead.per_call.mean, overhead.per_call.count,
      overhead.max_rate, overhead.workers);
  if (summary != nullptr && summary->all.count > 0) {
    out += fmt::format(
        "  this run: all p50 {:.3f} ms, of which the client is ~{:.0f}%; {:.0f} calls/s "
        "({:.0f}% of the client's max)\n",
        summary->all.p50, summary->all.p50 > 0 ? 100 * overhead.per_call.p50 / summary->all.p50 : 0,
        summary->rate, overhead.max_rate > 0 ? 100 * summary->rate / overhead.max_rate : 0);
  }
  return out;
}

std::string run_report(const BenchRun& run, const Summary& summary,
                       const std::vector<Threshold>& thresholds,
                       const std::vector<Threshold>& failed) {
  std::string out;
  for (const std::string& note : run.notes) out += note + "\n";
  if (!run.notes.empty()) out += "\n";
  const auto idle = idle_curve(run.samples);
  if (!idle.empty()) out += idle_table(idle) + "\n";
  const auto memory = memory_sweep(run.samples);
  if (!memory.empty()) out += memory_table(memory) + "\n";
  if (const std::string functions = function_table(run.samples); !functions.empty())
    out += functions + "\n";
  if (!run.samples.empty() || run.duration_s > 0) out += summary_table(summary, thresholds, failed);
  if (run.overhead) {
    if (!out.empty()) out += "\n";
    out += overhead_table(*run.overhead, run.samples.empty() ? nullptr : &summary);
  }
  return out;
}

std::string run_json(const BenchRun& run, const Summary& summary, const HtmlHeading& heading) {
  nlohmann::json out = samples_json_value(run.samples, summary);
  if (const auto idle = idle_curve(run.samples); !idle.empty()) {
    auto& list = out["idle"] = nlohmann::json::array();
    for (const IdlePoint& p : idle) {
      list.push_back({{"gapSeconds", p.gap_s},
                      {"latency", latency_json(p.latency)},
                      {"cold", p.cold},
                      {"thawed", p.thawed},
                      {"warm", p.warm},
                      {"thawMs", p.thaw_ms}});
    }
  }
  if (const auto memory = memory_sweep(run.samples); !memory.empty()) {
    auto& list = out["memory"] = nlohmann::json::array();
    for (const MemoryPoint& p : memory) {
      list.push_back({{"memoryMB", p.memory_mb},
                      {"cold", latency_json(p.cold)},
                      {"warm", latency_json(p.warm)},
                      {"durationMs", p.duration_ms},
                      {"billedDurationMs", p.billed_ms},
                      {"initDurationMs", p.init_ms},
                      {"gbSecondsPerInvocation", p.gb_seconds},
                      {"usdPerMillion", p.usd_per_million}});
    }
  }
  if (run.overhead) {
    out["clientOverhead"] = {{"perCall", latency_json(run.overhead->per_call)},
                             {"maxRate", run.overhead->max_rate},
                             {"workers", run.overhead->workers}};
  }
  if (!run.notes.empty()) out["notes"] = run.notes;
  out["heading"] = {{"mode", heading.mode},
                    {"function", heading.function},
                    {"endpoint", heading.endpoint},
                    {"when", heading.when}};
  return out.dump(2) + "\n";
}

}  // namespace runtimed::bench
