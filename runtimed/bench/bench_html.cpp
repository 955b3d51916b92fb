// The bench's HTML report (see bench_html.hpp).
#include "runtimed/bench/bench_html.hpp"

#include <fmt/format.h>

#include <map>

#include "runtimed/bench/bench_curves.hpp"
#include "runtimed/bench/bench_output.hpp"
#include "runtimed/bench/svg_chart.hpp"

namespace runtimed::bench {

namespace {

constexpr const char* kCold = "#d62728";
constexpr const char* kWarm = "#1f77b4";
constexpr const char* kThawed = "#ff7f0e";
constexpr const char* kWarmIdle = "#2ca02c";
constexpr const char* kFailed = "#222";
constexpr const char* kOther = "#9467bd";
// Past this many warm samples the latency-over-time chart keeps every k-th one and every slow one.
constexpr size_t kMaxWarmPoints = 3000;
constexpr size_t kMaxCdfPoints = 600;

// Log scale when latencies span more than a factor of 20 (cold starts beside warm calls).
bool wide(const std::vector<double>& values) {
  double lo = 0, hi = 0;
  for (double v : values) {
    if (v <= 0) continue;
    lo = lo == 0 ? v : std::min(lo, v);
    hi = std::max(hi, v);
  }
  return lo > 0 && hi / lo > 20;
}

std::string latency_cdf(const std::vector<Sample>& samples) {
  std::vector<double> cold, warm;
  for (const Sample& s : samples) {
    if (s.status != 200) continue;
    (s.cold ? cold : warm).push_back(s.latency_ms);
  }
  std::vector<double> all = cold;
  all.insert(all.end(), warm.begin(), warm.end());
  ChartSpec c{.title = "Latency CDF, cold and warm",
              .x = {.label = "latency (ms)", .log = wide(all)},
              .y = {.label = "fraction of calls", .lo = 0, .hi = 1},
              .legend_right = true,
              .legend_bottom = true};
  if (!warm.empty())
    c.series.push_back({.name = fmt::format("warm ({})", warm.size()),
                        .color = kWarm,
                        .style = Series::Style::Step,
                        .points = cdf_points(warm, kMaxCdfPoints)});
  if (!cold.empty())
    c.series.push_back({.name = fmt::format("cold ({})", cold.size()),
                        .color = kCold,
                        .style = Series::Style::Step,
                        .points = cdf_points(cold, kMaxCdfPoints)});
  return svg_chart(c);
}

std::string latency_over_time(const std::vector<Sample>& samples) {
  Series warm{.name = "warm", .color = kWarm, .style = Series::Style::Points, .radius = 1.6};
  Series cold{.name = "cold start", .color = kCold, .style = Series::Style::Points, .radius = 3.5};
  Series failed{
      .name = "error or 429", .color = kFailed, .style = Series::Style::Points, .radius = 2.5};
  std::vector<double> warm_latencies, all;
  for (const Sample& s : samples) {
    if (s.status == 200 && !s.cold) warm_latencies.push_back(s.latency_ms);
    all.push_back(s.latency_ms);
  }
  const size_t stride = warm_latencies.size() > kMaxWarmPoints
                            ? (warm_latencies.size() + kMaxWarmPoints - 1) / kMaxWarmPoints
                            : 1;
  double slow = 0;  // warm calls above this are always drawn (the slowest 1 %)
  if (stride > 1) {
    std::sort(warm_latencies.begin(), warm_latencies.end());
    slow = percentile(warm_latencies, 0.99);
  }
  size_t nth = 0;
  for (const Sample& s : samples) {
    const std::pair<double, double> p{s.start_ms / 1000, s.latency_ms};
    if (s.status != 200 || !s.error_type.empty()) {
      failed.points.push_back(p);
    } else if (s.cold) {
      cold.points.push_back(p);
    } else if (nth++ % stride == 0 || s.latency_ms >= slow) {
      warm.points.push_back(p);
    }
  }
  if (warm_latencies.size() <= 500) warm.radius = 2.5;
  if (stride > 1) warm.name = fmt::format("warm (every {}th, and the slowest 1%)", stride);
  ChartSpec c{.title = "Latency over time (from each call's intended start)",
              .x = {.label = "seconds since the run began"},
              .y = {.label = "latency (ms)", .log = wide(all)},
              .legend_right = true};
  for (Series* s : {&warm, &cold, &failed})
    if (!s->points.empty()) c.series.push_back(std::move(*s));
  return svg_chart(c);
}

// Replay: the calls due in each second, per function (the trace's shape as replayed).
std::string arrivals_chart(const std::vector<Sample>& samples) {
  std::map<std::string, std::map<int64_t, double>> per_second;
  int64_t last = 0;
  for (const Sample& s : samples) {
    if (s.function.empty()) continue;
    const auto second = static_cast<int64_t>(s.start_ms / 1000);
    per_second[s.function][second] += 1;
    last = std::max(last, second);
  }
  ChartSpec c{.title = "Calls due per second, by function",
              .x = {.label = "seconds since the run began"},
              .y = {.label = "calls per second"},
              .legend_right = true};
  const std::vector<std::string> colors{kWarm, kThawed, kWarmIdle, kOther, kCold, kFailed};
  size_t i = 0;
  for (const auto& [name, counts] : per_second) {
    Series series{.name = name, .color = colors[i++ % colors.size()], .style = Series::Style::Step};
    for (int64_t t = 0; t <= last + 1; ++t) {
      const auto it = counts.find(t);
      series.points.emplace_back(static_cast<double>(t), it == counts.end() ? 0 : it->second);
    }
    c.series.push_back(std::move(series));
  }
  return svg_chart(c);
}

std::string idle_chart(const std::vector<Sample>& samples, const std::vector<IdlePoint>& points) {
  ChartSpec c{.title = "Latency after an idle gap",
              .x = {.label = "idle gap before the call"},
              .y = {.label = "latency (ms)"},
              .legend_right = false};
  Series median{.name = "median", .color = kOther, .style = Series::Style::Line};
  Series cold{.name = "cold (environment gone)",
              .color = kCold,
              .style = Series::Style::Points,
              .radius = 4};
  Series thawed{
      .name = "thawed (was frozen)", .color = kThawed, .style = Series::Style::Points, .radius = 4};
  Series warm{.name = "warm (still running)",
              .color = kWarmIdle,
              .style = Series::Style::Points,
              .radius = 4};
  std::vector<double> all;
  for (size_t i = 0; i < points.size(); ++i) {
    const auto x = static_cast<double>(i);
    c.x.ticks.emplace_back(x, gap_text(points[i].gap_s));
    if (points[i].latency.count > 0) median.points.emplace_back(x, points[i].latency.p50);
    for (const Sample& s : samples) {
      if (!s.idle_gap_s || *s.idle_gap_s != points[i].gap_s || s.status != 200) continue;
      all.push_back(s.latency_ms);
      (s.cold ? cold : s.thaw_ms ? thawed : warm).points.emplace_back(x, s.latency_ms);
    }
  }
  c.y.log = wide(all);
  for (Series* s : {&median, &warm, &thawed, &cold})
    if (!s->points.empty()) c.series.push_back(std::move(*s));
  return svg_chart(c);
}

std::string memory_charts(const std::vector<MemoryPoint>& points) {
  ChartSpec duration{.title = "Duration by memory size",
                     .x = {.label = "MemorySize (MB)"},
                     .y = {.label = "ms"},
                     .legend_right = true};
  ChartSpec cost{.title = "Cost by memory size",
                 .x = {.label = "MemorySize (MB)"},
                 .y = {.label = "USD per million warm invocations"},
                 .legend_right = false};
  Series billed{.name = "billed duration (warm, mean)", .color = kWarm, .markers = true};
  Series run{.name = "duration (warm, mean)", .color = kWarmIdle, .markers = true};
  Series init{.name = "init duration (cold, mean)", .color = kCold, .markers = true};
  Series cold_p50{.name = "cold start latency (p50)", .color = kOther, .markers = true};
  Series usd{.name = "USD / 1M calls", .color = kThawed, .markers = true};
  for (const MemoryPoint& p : points) {
    const auto x = static_cast<double>(p.memory_mb);
    duration.x.ticks.emplace_back(x, std::to_string(p.memory_mb));
    cost.x.ticks.emplace_back(x, std::to_string(p.memory_mb));
    if (p.warm.count > 0) {
      billed.points.emplace_back(x, p.billed_ms);
      run.points.emplace_back(x, p.duration_ms);
      usd.points.emplace_back(x, p.usd_per_million);
    }
    if (p.cold.count > 0) {
      init.points.emplace_back(x, p.init_ms);
      cold_p50.points.emplace_back(x, p.cold.p50);
    }
  }
  for (Series* s : {&billed, &run, &init, &cold_p50})
    if (!s->points.empty()) duration.series.push_back(std::move(*s));
  if (!usd.points.empty()) cost.series.push_back(std::move(usd));
  return svg_chart(duration) + svg_chart(cost);
}

std::string latency_rows(const char* name, const LatencySummary& s) {
  if (s.count == 0)
    return fmt::format("<tr><th>{}</th><td>0</td><td colspan=\"6\"></td></tr>\n", name);
  return fmt::format(
      "<tr><th>{}</th><td>{}</td><td>{:.2f}</td><td>{:.2f}</td><td>{:.2f}</td><td>{:.2f}</td>"
      "<td>{:.2f}</td><td>{:.2f}</td></tr>\n",
      name, s.count, s.p50, s.p90, s.p99, s.p999, s.max, s.mean);
}

std::string summary_html(const Summary& s) {
  std::string out =
      "<table><tr><th>ms</th><th>count</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th>"
      "<th>max</th><th>mean</th></tr>\n";
  out += latency_rows("cold", s.cold) + latency_rows("warm", s.warm) + latency_rows("all", s.all);
  if (s.cold_launch.count > 0) {
    out += latency_rows("cold: launch", s.cold_launch) + latency_rows("cold: init", s.cold_init) +
           latency_rows("cold: invoke", s.cold_invoke) + latency_rows("cold: other", s.cold_other);
  }
  out += "</table>\n";
  out += fmt::format(
      "<p class=\"figures\">cold {:.1f}% · errors {} ({:.2f}%) · 429s {} ({:.2f}%) · {:.1f} "
      "calls/s "
      "over {:.2f} s · {:.6f} GB-s</p>\n",
      100 * s.cold_ratio, s.errors, 100 * s.error_ratio, s.throttles, 100 * s.throttle_ratio,
      s.rate, s.duration_s, s.gb_seconds);
  return out;
}

constexpr const char* kStyle = R"(
body { font-family: sans-serif; color: #222; margin: 24px auto; max-width: 1340px; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; }
h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.meta { color: #666; margin-top: 0; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 10px; text-align: right; border-bottom: 1px solid #eee; }
th:first-child { text-align: left; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
.chart { background: #fff; border: 1px solid #ddd; border-radius: 4px; }
pre { background: #f6f6f6; padding: 10px; overflow-x: auto; }
)";

}  // namespace

std::string html_report(const BenchRun& run, const Summary& summary, const HtmlHeading& heading) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += fmt::format("<title>runtimed bench {} {}</title>\n", xml_escape(heading.mode),
                     xml_escape(heading.function));
  out += fmt::format("<style>{}</style>\n</head>\n<body>\n", kStyle);
  out += html_report_body(run, summary, heading);
  out += "</body>\n</html>\n";
  return out;
}

std::string html_report_body(const BenchRun& run, const Summary& summary,
                             const HtmlHeading& heading) {
  std::string out = fmt::format("<h1>runtimed bench {}: {}</h1>\n", xml_escape(heading.mode),
                                xml_escape(heading.function));
  // The endpoint as host:port: the page holds no URL at all (it loads and links nothing).
  std::string_view endpoint = heading.endpoint;
  if (const auto scheme = endpoint.find("://"); scheme != std::string_view::npos)
    endpoint.remove_prefix(scheme + 3);
  out += fmt::format("<p class=\"meta\">{} · {} · {} samples</p>\n", xml_escape(endpoint),
                     xml_escape(heading.when), run.samples.size());
  if (!run.notes.empty()) {
    out += "<pre>";
    for (const std::string& note : run.notes) out += xml_escape(note) + "\n";
    out += "</pre>\n";
  }
  if (!run.samples.empty()) {
    out += "<h2>Summary</h2>\n" + summary_html(summary);
    out += "<h2>Latency</h2>\n<div class=\"charts\">\n" + latency_cdf(run.samples) +
           latency_over_time(run.samples) + "</div>\n";
  }
  if (const auto idle = idle_curve(run.samples); !idle.empty()) {
    out += "<h2>Idle gaps: freeze, thaw and the keep-alive cliff</h2>\n<div class=\"charts\">\n" +
           idle_chart(run.samples, idle) + "</div>\n<pre>" + xml_escape(idle_table(idle)) +
           "</pre>\n";
  }
  if (const auto memory = memory_sweep(run.samples); !memory.empty()) {
    out += "<h2>Memory sweep</h2>\n<div class=\"charts\">\n" + memory_charts(memory) +
           "</div>\n<pre>" + xml_escape(memory_table(memory)) + "</pre>\n";
  }
  if (const std::string functions = function_table(run.samples); !functions.empty())
    out += "<h2>By function</h2>\n<div class=\"charts\">\n" + arrivals_chart(run.samples) +
           "</div>\n<pre>" + xml_escape(functions) + "</pre>\n";
  if (run.overhead) {
    out += "<h2>The bench's own cost</h2>\n<pre>" +
           xml_escape(overhead_table(*run.overhead, run.samples.empty() ? nullptr : &summary)) +
           "</pre>\n";
  }
  return out;
}

}  // namespace runtimed::bench
