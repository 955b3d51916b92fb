// The bench's pure parts: REPORT parsing, percentiles and the summary, --check thresholds, CSV.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "runtimed/bench/bench_check.hpp"
#include "runtimed/bench/bench_output.hpp"
#include "runtimed/bench/bench_runner.hpp"
#include "runtimed/bench/bench_summary.hpp"
#include "runtimed/bench/cold_phases.hpp"
#include "runtimed/bench/report_line.hpp"

namespace runtimed::bench {
namespace {

constexpr const char* kColdTail =
    "START RequestId: r1 Version: $LATEST\nhello\nEND RequestId: r1\n"
    "REPORT RequestId: r1\tDuration: 1.25 ms\tBilled Duration: 2 ms\tMemory Size: 256 MB\t"
    "Max Memory Used: 42 MB\tInit Duration: 200.50 ms\t\n";

TEST(BenchReportLine, ReadsEveryFieldOfLambdasReportLine) {
  const auto report = parse_report_line(kColdTail);
  ASSERT_TRUE(report);
  EXPECT_DOUBLE_EQ(report->duration_ms, 1.25);
  EXPECT_DOUBLE_EQ(report->billed_duration_ms, 2);
  EXPECT_EQ(report->memory_size_mb, 256);
  EXPECT_EQ(report->max_memory_used_mb, 42);
  ASSERT_TRUE(report->init_duration_ms);
  EXPECT_DOUBLE_EQ(*report->init_duration_ms, 200.5);
}

TEST(BenchReportLine, AWarmReportHasNoInitDurationAndNoReportIsNothing) {
  const auto warm = parse_report_line(
      "REPORT RequestId: r2\tDuration: 0.50 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\t"
      "Max Memory Used: 10 MB\t\n");
  ASSERT_TRUE(warm);
  EXPECT_FALSE(warm->init_duration_ms);
  EXPECT_DOUBLE_EQ(warm->duration_ms, 0.5);
  EXPECT_FALSE(parse_report_line("START RequestId: r3\nEND RequestId: r3\n"));
}

TEST(BenchReportLine, FiguresNoNumberHoldsAreLeftOut) {
  // Found by fuzz_bench_parsers: a Memory Size past INT_MAX was cast to int (undefined).
  const auto report = parse_report_line(
      "REPORT RequestId: r\tDuration: nan ms\tBilled Duration: inf ms\tMemory Size: "
      "257777777777777777777777777777 MB\tMax Memory Used: -5 MB\t\n");
  EXPECT_FALSE(report);  // no Duration
  const auto partial = parse_report_line(
      "REPORT RequestId: r\tDuration: 1 ms\tMemory Size: 1e300 MB\tMax Memory Used: -5 MB\t\n");
  ASSERT_TRUE(partial);
  EXPECT_EQ(partial->memory_size_mb, 0);
  EXPECT_EQ(partial->max_memory_used_mb, 0);
}

TEST(BenchColdPhases, ReadsTheThreePhasesAndRefusesAnythingElse) {
  const auto phases = parse_cold_phases("launch=1.2;init=30.1;invoke=0.4");
  ASSERT_TRUE(phases);
  EXPECT_DOUBLE_EQ(phases->launch_ms, 1.2);
  EXPECT_DOUBLE_EQ(phases->init_ms, 30.1);
  EXPECT_DOUBLE_EQ(phases->invoke_ms, 0.4);
  // Unknown phases are skipped, in any order.
  EXPECT_TRUE(parse_cold_phases("invoke=1;later=5;init=2;launch=3"));
  EXPECT_FALSE(parse_cold_phases(""));
  EXPECT_FALSE(parse_cold_phases("launch=1;init=2"));
  EXPECT_FALSE(parse_cold_phases("launch=1;init=2;invoke=nan"));
  EXPECT_FALSE(parse_cold_phases("launch=-1;init=2;invoke=3"));
  EXPECT_FALSE(parse_cold_phases("launch=1;launch=1;init=2;invoke=3"));
  EXPECT_FALSE(parse_cold_phases("launch=1;init=2;invoke=3ms"));
  EXPECT_FALSE(parse_cold_phases("launch;init=2;invoke=3"));
}

TEST(BenchColdPhases, TheSummaryBreaksColdLatencyDownByPhase) {
  Sample cold{.latency_ms = 50, .status = 200, .cold = true};
  cold.phases = ColdPhases{.launch_ms = 5, .init_ms = 30, .invoke_ms = 10};
  Sample warm{.latency_ms = 1, .status = 200};
  const Summary s = summarize({cold, warm}, 1);
  EXPECT_EQ(s.cold_launch.count, 1u);
  EXPECT_EQ(s.cold_launch.p50, 5);
  EXPECT_EQ(s.cold_init.p50, 30);
  EXPECT_EQ(s.cold_invoke.p50, 10);
  EXPECT_EQ(s.cold_other.p50, 5);  // 50 - 5 - 30 - 10
  const std::string table = summary_table(s, {}, {});
  EXPECT_NE(table.find(" launch"), std::string::npos) << table;
  EXPECT_NE(table.find(" init"), std::string::npos) << table;
  const std::string csv = samples_csv({cold, warm});
  EXPECT_NE(csv.find("launch_ms,init_ms,invoke_ms,"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",5.00,30.00,10.00,,,,\n"), std::string::npos) << csv;
  const auto json = nlohmann::json::parse(samples_json({cold, warm}, s));
  EXPECT_EQ(json["summary"]["coldPhases"]["init"]["p50"], 30);
  EXPECT_EQ(json["samples"][0]["phases"]["launchMs"], 5);
  EXPECT_FALSE(json["samples"][1].contains("phases"));
}

TEST(BenchRate, AConstantRateIsEvenlySpacedAndARampRisesLinearly) {
  EXPECT_EQ(rate_total(100, 10, false), 1000u);
  EXPECT_DOUBLE_EQ(rate_due_s(250, 100, 10, false), 2.5);
  // Ramp to 100/s over 10 s: 500 calls; the last is due at the end; a quarter arrive in the
  // first half; gaps shrink as the rate rises.
  EXPECT_EQ(rate_total(100, 10, true), 500u);
  EXPECT_DOUBLE_EQ(rate_due_s(0, 100, 10, true), 0);
  EXPECT_NEAR(rate_due_s(500, 100, 10, true), 10, 1e-9);
  EXPECT_NEAR(rate_due_s(125, 100, 10, true), 5, 1e-9);
  EXPECT_GT(rate_due_s(2, 100, 10, true) - rate_due_s(1, 100, 10, true),
            rate_due_s(400, 100, 10, true) - rate_due_s(399, 100, 10, true));
}

TEST(BenchSummary, NearestRankPercentiles) {
  std::vector<double> v;
  for (int i = 1; i <= 100; ++i) v.push_back(i);
  EXPECT_EQ(percentile(v, 0.5), 50);
  EXPECT_EQ(percentile(v, 0.99), 99);
  EXPECT_EQ(percentile(v, 1.0), 100);
  EXPECT_EQ(percentile({}, 0.5), 0);
  EXPECT_EQ(percentile({7}, 0.999), 7);
}

Sample answered(double latency, bool cold, int memory_mb = 1024, double billed_ms = 1000) {
  Sample s;
  s.status = 200;
  s.latency_ms = latency;
  s.cold = cold;
  s.report = ReportLine{.billed_duration_ms = billed_ms, .memory_size_mb = memory_mb};
  return s;
}

TEST(BenchSummary, SeparatesColdFromWarmAndCountsThrottlesErrorsAndGbSeconds) {
  std::vector<Sample> samples{answered(100, true), answered(2, false), answered(4, false)};
  Sample throttled;
  throttled.status = 429;
  throttled.throttle_reason = "ConcurrentInvocationLimitExceeded";
  samples.push_back(throttled);
  Sample failed = answered(3, false);
  failed.error_type = "Function.Unhandled";
  samples.push_back(failed);
  const Summary s = summarize(samples, 2.0);
  EXPECT_EQ(s.cold.count, 1u);
  EXPECT_EQ(s.warm.count, 3u);
  EXPECT_EQ(s.cold.p50, 100);
  EXPECT_EQ(s.warm.max, 4);
  EXPECT_EQ(s.throttles, 1u);
  EXPECT_EQ(s.throttles_by_reason.at("ConcurrentInvocationLimitExceeded"), 1u);
  EXPECT_EQ(s.errors, 1u);
  EXPECT_DOUBLE_EQ(s.cold_ratio, 0.25);
  EXPECT_DOUBLE_EQ(s.gb_seconds, 4.0);  // four answered calls, 1 s at 1 GB each
  EXPECT_DOUBLE_EQ(s.rate, 2.5);
}

TEST(BenchCheck, ThresholdsHoldOrFailAsWritten) {
  const Summary s = summarize({answered(100, true), answered(2, false), answered(4, false)}, 1);
  auto thresholds = parse_thresholds("cold.p99<150ms, warm.p50<=0.002s ,errors==0,cold_ratio<0.5");
  ASSERT_TRUE(thresholds) << thresholds.error();
  EXPECT_TRUE(failed_thresholds(s, *thresholds).empty());
  auto strict = parse_thresholds("cold.p99<50ms,warm.max<3000us,errors==0");
  ASSERT_TRUE(strict);
  const auto failed = failed_thresholds(s, *strict);
  ASSERT_EQ(failed.size(), 2u);
  EXPECT_EQ(failed[0].text, "cold.p99<50ms");
  EXPECT_EQ(failed[1].text, "warm.max<3000us");
}

TEST(BenchCheck, MalformedThresholdsAreRefusedWithTheReason) {
  EXPECT_FALSE(parse_thresholds(""));
  EXPECT_NE(parse_thresholds("cold.p42<1ms").error().find("unknown metric"), std::string::npos);
  EXPECT_NE(parse_thresholds("errors=0").error().find("=="), std::string::npos);
  EXPECT_NE(parse_thresholds("errors<abc").error().find("not a number"), std::string::npos);
  EXPECT_NE(parse_thresholds("latency").error().find("no comparison"), std::string::npos);
}

TEST(BenchOutput, CsvHasOneRowPerSampleWithItsReport) {
  Sample cold = answered(210.5, true, 256, 2);
  cold.report->init_duration_ms = 200.5;
  Sample odd;
  odd.error_type = "transport: Connection, refused";
  const std::string csv = samples_csv({cold, odd});
  EXPECT_NE(csv.find("\n0.000,210.500,200,1,,,0.00,2,200.50,256,0,,,,,,,\n"), std::string::npos)
      << csv;
  EXPECT_NE(csv.find("\"transport: Connection, refused\""), std::string::npos) << csv;
}

}  // namespace
}  // namespace runtimed::bench
