// The bench's report parts: the SVG chart helpers, the idle curve and memory sweep, the modes'
// comma lists, and the self-contained HTML page.
#include <gtest/gtest.h>

#include <regex>

#include "runtimed/bench/bench_curves.hpp"
#include "runtimed/bench/bench_html.hpp"
#include "runtimed/bench/bench_json_read.hpp"
#include "runtimed/bench/bench_lists.hpp"
#include "runtimed/bench/bench_output.hpp"
#include "runtimed/bench/saved_run_report.hpp"
#include "runtimed/bench/svg_chart.hpp"

namespace runtimed::bench {
namespace {

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(BenchSvg, TicksAreRoundAndCoverTheRange) {
  EXPECT_EQ(nice_ticks(0, 97, 5), (std::vector<double>{0, 20, 40, 60, 80, 100}));
  EXPECT_EQ(nice_ticks(0, 1, 5), (std::vector<double>{0, 0.2, 0.4, 0.6000000000000001, 0.8, 1}));
  EXPECT_EQ(nice_ticks(3, 3, 5), (std::vector<double>{3}));
  EXPECT_EQ(log_ticks(1, 1000), (std::vector<double>{1, 10, 100, 1000}));
  EXPECT_EQ(log_ticks(1, 50), (std::vector<double>{1, 2, 5, 10, 20, 50}));
  EXPECT_TRUE(log_ticks(0, 10).empty());
  EXPECT_EQ(tick_text(0), "0");
  EXPECT_EQ(tick_text(0.25), "0.25");
  EXPECT_EQ(tick_text(20000), "20k");
  EXPECT_EQ(tick_text(3e6), "3M");
  EXPECT_EQ(xml_escape("a<b & \"c\">'"), "a&lt;b &amp; &quot;c&quot;&gt;&#39;");
}

TEST(BenchSvg, TheCdfStepsThroughEverySampleOrEvenQuantiles) {
  const auto small = cdf_points({3, 1, 2, 4}, 100);
  ASSERT_EQ(small.size(), 5u);
  EXPECT_EQ(small[0], (std::pair<double, double>{1, 0}));
  EXPECT_EQ(small[1], (std::pair<double, double>{1, 0.25}));
  EXPECT_EQ(small[4], (std::pair<double, double>{4, 1.0}));
  std::vector<double> many;
  for (int i = 1; i <= 1000; ++i) many.push_back(i);
  const auto cut = cdf_points(many, 10);
  ASSERT_EQ(cut.size(), 11u);
  EXPECT_EQ(cut[5], (std::pair<double, double>{500, 0.5}));
  EXPECT_EQ(cut[10], (std::pair<double, double>{1000, 1.0}));
  EXPECT_TRUE(cdf_points({}, 10).empty());
}

TEST(BenchSvg, AChartHasItsAxesLabelsLegendAndSeriesAndNothingExternal) {
  ChartSpec chart{.title = "Latency <cold & warm>",
                  .x = {.label = "latency (ms)", .log = true},
                  .y = {.label = "fraction", .lo = 0, .hi = 1}};
  chart.series.push_back({.name = "warm",
                          .color = "#00f",
                          .style = Series::Style::Step,
                          .points = {{0.1, 0.5}, {0.2, 1}}});
  chart.series.push_back({.name = "cold",
                          .color = "#f00",
                          .style = Series::Style::Points,
                          .points = {{10, 0.5}, {0, 0.7}, {30, 1}}});
  const std::string svg = svg_chart(chart);
  EXPECT_TRUE(svg.starts_with("<svg ")) << svg;
  EXPECT_TRUE(svg.ends_with("</svg>\n"));
  EXPECT_NE(svg.find("Latency &lt;cold &amp; warm&gt;"), std::string::npos);
  EXPECT_NE(svg.find(">latency (ms)</text>"), std::string::npos);
  EXPECT_NE(svg.find(">fraction</text>"), std::string::npos);
  EXPECT_NE(svg.find("class=\"legend\""), std::string::npos);
  EXPECT_NE(svg.find(">warm</text>"), std::string::npos);
  EXPECT_NE(svg.find(">cold</text>"), std::string::npos);
  // A step path for warm; cold's points but the one a log axis cannot place (x = 0).
  EXPECT_NE(svg.find("<path d=\"M"), std::string::npos);
  EXPECT_EQ(count_of(svg, "<circle"), 2u);
  // Log ticks 0.1 … 100 on x.
  for (const char* tick : {">0.1</text>", ">1</text>", ">10</text>", ">100</text>"})
    EXPECT_NE(svg.find(tick), std::string::npos) << tick;
  EXPECT_EQ(svg.find("http"), std::string::npos);
  // Every coordinate is a number.
  EXPECT_EQ(svg.find("nan"), std::string::npos);
  EXPECT_EQ(svg.find("inf"), std::string::npos);
}

TEST(BenchSvg, AChartWithoutDataStillDrawsItsFrame) {
  const std::string svg = svg_chart({.title = "empty", .x = {.label = "x"}, .y = {.label = "y"}});
  EXPECT_NE(svg.find("<rect"), std::string::npos);
  EXPECT_EQ(svg.find("nan"), std::string::npos);
}

Sample call(double latency, bool cold, std::optional<double> thaw = std::nullopt) {
  Sample s;
  s.status = 200;
  s.latency_ms = latency;
  s.cold = cold;
  s.thaw_ms = thaw;
  return s;
}

TEST(BenchCurves, TheIdleCurveHasAPointPerGapWithHowEachCallFoundItsEnvironment) {
  std::vector<Sample> samples;
  for (auto [gap, s] : std::vector<std::pair<double, Sample>>{{0, call(0.2, false)},
                                                              {0, call(0.4, false)},
                                                              {2, call(1.0, false, 0.5)},
                                                              {2, call(3.0, false, 1.5)},
                                                              {600, call(30, true)}}) {
    s.idle_gap_s = gap;
    samples.push_back(s);
  }
  samples.push_back(call(99, true));  // not an idle sample
  const auto curve = idle_curve(samples);
  ASSERT_EQ(curve.size(), 3u);
  EXPECT_EQ(curve[0].gap_s, 0);
  EXPECT_EQ(curve[0].warm, 2u);
  EXPECT_EQ(curve[0].latency.p50, 0.2);
  EXPECT_EQ(curve[1].thawed, 2u);
  EXPECT_DOUBLE_EQ(curve[1].thaw_ms, 1.0);
  EXPECT_EQ(curve[2].cold, 1u);
  EXPECT_EQ(curve[2].latency.max, 30);
  const std::string table = idle_table(curve);
  EXPECT_NE(table.find("10m"), std::string::npos) << table;
  EXPECT_NE(table.find("2s"), std::string::npos) << table;
}

TEST(BenchCurves, TheMemorySweepPricesEachSizeFromItsWarmBilledDuration) {
  std::vector<Sample> samples;
  for (int memory : {1024, 128}) {
    Sample cold = call(50, true);
    cold.report = ReportLine{.duration_ms = 9,
                             .billed_duration_ms = 10,
                             .memory_size_mb = memory,
                             .init_duration_ms = 40};
    Sample warm = call(memory == 128 ? 20 : 5, false);
    warm.report = ReportLine{.duration_ms = memory == 128 ? 19.5 : 4.5,
                             .billed_duration_ms = memory == 128 ? 20.0 : 5.0,
                             .memory_size_mb = memory};
    cold.memory_mb = warm.memory_mb = memory;
    samples.push_back(cold);
    samples.push_back(warm);
  }
  const auto sweep = memory_sweep(samples);
  ASSERT_EQ(sweep.size(), 2u);
  EXPECT_EQ(sweep[0].memory_mb, 128);
  EXPECT_DOUBLE_EQ(sweep[0].billed_ms, 20);
  EXPECT_DOUBLE_EQ(sweep[0].duration_ms, 19.5);
  EXPECT_DOUBLE_EQ(sweep[0].init_ms, 40);
  EXPECT_DOUBLE_EQ(sweep[0].gb_seconds, 0.020 * 0.125);
  EXPECT_DOUBLE_EQ(sweep[1].gb_seconds, 0.005 * 1.0);
  EXPECT_NEAR(sweep[1].usd_per_million, 1e6 * (0.005 * kUsdPerGbSecond + kUsdPerRequest), 1e-9);
  EXPECT_EQ(sweep[1].cold.count, 1u);
  EXPECT_NE(memory_table(sweep).find("GB-s/call"), std::string::npos);
}

TEST(BenchLists, GapsTakeUnitsAndSizesLambdasRange) {
  auto gaps = parse_gaps("0s, 500ms,5,2m,1h");
  ASSERT_TRUE(gaps) << gaps.error();
  EXPECT_EQ(*gaps, (std::vector<double>{0, 0.5, 5, 120, 3600}));
  EXPECT_FALSE(parse_gaps(""));
  EXPECT_FALSE(parse_gaps("5x"));
  EXPECT_FALSE(parse_gaps("-1s"));
  EXPECT_NE(parse_gaps("1s,soon").error().find("'soon'"), std::string::npos);
  auto sizes = parse_sizes("128,256,10240");
  ASSERT_TRUE(sizes);
  EXPECT_EQ(*sizes, (std::vector<int>{128, 256, 10240}));
  EXPECT_FALSE(parse_sizes("64"));
  EXPECT_FALSE(parse_sizes("128,big"));
  EXPECT_EQ(gap_text(0), "0s");
  EXPECT_EQ(gap_text(0.25), "250ms");
  EXPECT_EQ(gap_text(90), "90s");
  EXPECT_EQ(gap_text(120), "2m");
}

TEST(BenchHtml, ThePageStandsAloneWithAChartPerPartOfTheRun) {
  BenchRun run;
  for (int i = 0; i < 20; ++i) {
    Sample s = call(i % 10 == 0 ? 40 : 0.5, i % 10 == 0);
    s.start_ms = i * 10;
    s.idle_gap_s = i < 10 ? 0 : 5;
    run.samples.push_back(s);
  }
  Sample failed;
  failed.status = 429;
  run.samples.push_back(failed);
  run.notes.push_back("a <note>");
  const Summary summary = summarize(run.samples, 1);
  const std::string html =
      html_report(run, summary, {"idle", "fn<1>", "http://127.0.0.1:9000", "now"});
  EXPECT_TRUE(html.starts_with("<!DOCTYPE html>"));
  EXPECT_TRUE(html.ends_with("</html>\n"));
  // CDF, latency over time, idle curve; no memory sweep in this run.
  EXPECT_EQ(count_of(html, "<svg "), 3u);
  EXPECT_EQ(count_of(html, "</svg>"), 3u);
  EXPECT_NE(html.find("Latency CDF"), std::string::npos);
  EXPECT_NE(html.find("Latency after an idle gap"), std::string::npos);
  EXPECT_EQ(html.find("Memory sweep"), std::string::npos);
  EXPECT_NE(html.find("fn&lt;1&gt;"), std::string::npos);
  EXPECT_NE(html.find("a &lt;note&gt;"), std::string::npos);
  EXPECT_NE(html.find("127.0.0.1:9000"), std::string::npos);
  EXPECT_EQ(html.find("http"), std::string::npos);
  // The endpoint is shown as text, escaped; nothing is loaded from anywhere.
  EXPECT_FALSE(std::regex_search(html, std::regex(R"((src|href)\s*=)")));
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
}

TEST(BenchHtml, AReplayOntoSeveralFunctionsChartsTheCallsDuePerSecondOfEach) {
  BenchRun run;
  for (int i = 0; i < 30; ++i) {
    Sample s = call(1, false);
    s.start_ms = i * 100;  // 10 a second for 3 s
    s.function = i % 3 == 0 ? "fb" : "fa";
    run.samples.push_back(s);
  }
  const std::string html = html_report(run, summarize(run.samples, 3), {"replay", "fa,fb", "", ""});
  EXPECT_NE(html.find("Calls due per second, by function"), std::string::npos);
  EXPECT_NE(html.find("data-name=\"fa\""), std::string::npos);
  EXPECT_NE(html.find("data-name=\"fb\""), std::string::npos);
  EXPECT_EQ(count_of(html, "<svg "), 3u);  // CDF, over time, calls per second
}

// A run saved with --json and read back draws the very report the run drew itself.
TEST(BenchSavedRun, ReadingBackAJsonRunDrawsTheSameReport) {
  BenchRun run;
  for (int i = 0; i < 30; ++i) {
    Sample s = call(i % 10 == 0 ? 40 : 0.5, i % 10 == 0);
    s.start_ms = i * 10;
    s.idle_gap_s = i < 15 ? 0 : 5;
    s.memory_mb = i < 20 ? 128 : 256;
    if (s.cold) s.phases = ColdPhases{12.5, 20.25, 1.5};
    if (i == 3) s.thaw_ms = 0.75;
    if (i % 3 == 0)
      s.report =
          ReportLine{.duration_ms = 1.25,
                     .billed_duration_ms = 2,
                     .memory_size_mb = s.memory_mb,
                     .max_memory_used_mb = 40,
                     .init_duration_ms = s.cold ? std::optional<double>(30.5) : std::nullopt};
    s.function = i % 2 ? "fa" : "fb";
    run.samples.push_back(s);
  }
  Sample throttled;
  throttled.status = 429;
  throttled.throttle_reason = "ReservedFunctionConcurrentInvocationLimitExceeded";
  throttled.error_type = "TooManyRequestsException";
  run.samples.push_back(throttled);
  run.duration_s = 2.5;
  run.notes = {"replayed <trace>", "second"};
  run.overhead = ClientOverhead{
      .per_call = {.count = 9, .p50 = 0.05, .p99 = 0.1}, .max_rate = 9000, .workers = 4};
  const HtmlHeading heading{"idle", "fa,fb", "http://127.0.0.1:9000", "2026-12-05 01:00 UTC"};
  const Summary summary = summarize(run.samples, run.duration_s);

  const auto saved = read_run_json(run_json(run, summary, heading));
  ASSERT_TRUE(saved) << saved.error();
  EXPECT_EQ(saved->heading.mode, "idle");
  EXPECT_EQ(saved->heading.when, heading.when);
  ASSERT_EQ(saved->run.samples.size(), run.samples.size());
  EXPECT_EQ(saved->run.samples.back().throttle_reason, throttled.throttle_reason);
  ASSERT_TRUE(saved->run.samples[0].phases);
  EXPECT_EQ(saved->run.samples[0].phases->init_ms, 20.25);
  EXPECT_EQ(saved->run.notes, run.notes);
  ASSERT_TRUE(saved->run.overhead);
  EXPECT_EQ(saved->run.overhead->workers, 4u);
  const std::string drawn = html_report_body(
      saved->run, summarize(saved->run.samples, saved->run.duration_s), saved->heading);
  EXPECT_EQ(drawn, html_report_body(run, summary, heading));
  // The page the run wrote holds exactly that content.
  EXPECT_NE(html_report(run, summary, heading).find(drawn), std::string::npos);
  EXPECT_EQ(drawn.find("<style"), std::string::npos);
  EXPECT_EQ(drawn.find("<script"), std::string::npos);
}

TEST(BenchSavedRun, AFileThatIsNotARunSaysWhatIsWrongWithIt) {
  EXPECT_EQ(read_run_json("{not json").error(), "not JSON: a `runtimed bench --json` file is");
  EXPECT_NE(read_run_json(R"({"summary":{}})").error().find("no \"samples\" list"),
            std::string::npos);
  EXPECT_EQ(read_run_json(R"({"samples":[{"startMs":1,"latencyMs":"fast","status":200}]})").error(),
            "sample 0: \"latencyMs\" is not a number");
  EXPECT_EQ(read_run_json(R"({"samples":[{"startMs":1,"latencyMs":2,"status":200},{"startMs":1}]})")
                .error(),
            "sample 1 lacks startMs, latencyMs or status");
  EXPECT_EQ(read_run_json(R"({"samples":[],"notes":[1]})").error(),
            "\"notes\" holds something other than text");
  // A file from before the heading was saved still draws.
  const auto old = read_run_json(R"({"samples":[{"startMs":0,"latencyMs":1.5,"status":200}]})");
  ASSERT_TRUE(old) << old.error();
  EXPECT_TRUE(old->heading.mode.empty());
}

TEST(BenchSavedRun, TheRouteAnswersTheReportOrLambdasErrorShape) {
  api::HttpRequest request;
  request.method = "POST";
  request.path = "/runtimed/v1/bench/report";
  request.body = R"({"samples":[{"startMs":0,"latencyMs":1.5,"status":200,"cold":true},
                                {"startMs":5,"latencyMs":0.5,"status":200}],
                     "heading":{"mode":"warm","function":"hello"}})";
  const api::HttpResponse drawn = saved_run_report(request, "req-1");
  EXPECT_EQ(drawn.status, 200);
  EXPECT_NE(drawn.body.find("<h1>runtimed bench warm: hello</h1>"), std::string::npos);
  EXPECT_EQ(count_of(drawn.body, "<svg "), 2u);
  request.body = "[]";
  const api::HttpResponse refused = saved_run_report(request, "req-2");
  EXPECT_EQ(refused.status, 400);
  const auto type = std::find_if(refused.headers.begin(), refused.headers.end(),
                                 [](const auto& h) { return h.first == "x-amzn-ErrorType"; });
  ASSERT_NE(type, refused.headers.end());
  EXPECT_EQ(type->second, "InvalidRequestContentException");
  EXPECT_NE(refused.body.find("Cannot draw this bench run: not a `runtimed bench --json` file"),
            std::string::npos);
}

}  // namespace
}  // namespace runtimed::bench
