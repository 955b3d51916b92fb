// The metrics registry's text exposition, checked line by line and by Prometheus's own promtool.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/metrics_registry.hpp"

namespace common::metrics {
namespace {

// `promtool check metrics` on `text`: its output, and whether it passed.
std::pair<bool, std::string> promtool_check(const std::string& text) {
  const auto path =
      std::filesystem::temp_directory_path() / ("metrics-" + std::to_string(::getpid()) + ".txt");
  std::ofstream(path) << text;
  std::string output;
  FILE* p = ::popen(("promtool check metrics < " + path.string() + " 2>&1").c_str(), "r");
  if (p == nullptr) return {false, "popen failed"};
  char buf[512];
  while (std::fgets(buf, sizeof buf, p) != nullptr) output += buf;
  const int status = ::pclose(p);
  std::filesystem::remove(path);
  return {status == 0, output};
}

TEST(MetricsRegistry, ExposesCountersGaugesAndHistogramsInTheTextFormat) {
  Registry registry;
  auto& invocations =
      registry.counter("runtimed_invocations_total", "Invocations.", {"function", "outcome"});
  auto& memory = registry.gauge("runtimed_memory_used_bytes", "Memory held.");
  auto& duration = registry.histogram("runtimed_invocation_duration_seconds", "Duration.",
                                      {"function"}, {0.01, 0.1, 1});
  invocations.inc({"fn", "success"});
  invocations.inc({"fn", "success"});
  invocations.inc({"fn", "timeout"});
  memory.set({}, 1048576);
  duration.observe({"fn"}, 0.005);
  duration.observe({"fn"}, 0.5);
  duration.observe({"fn"}, 3);
  EXPECT_EQ(invocations.value({"fn", "success"}), 2);
  const std::string text = registry.expose();
  EXPECT_EQ(text,
            "# HELP runtimed_invocations_total Invocations.\n"
            "# TYPE runtimed_invocations_total counter\n"
            "runtimed_invocations_total{function=\"fn\",outcome=\"success\"} 2\n"
            "runtimed_invocations_total{function=\"fn\",outcome=\"timeout\"} 1\n"
            "# HELP runtimed_memory_used_bytes Memory held.\n"
            "# TYPE runtimed_memory_used_bytes gauge\n"
            "runtimed_memory_used_bytes 1048576\n"
            "# HELP runtimed_invocation_duration_seconds Duration.\n"
            "# TYPE runtimed_invocation_duration_seconds histogram\n"
            "runtimed_invocation_duration_seconds_bucket{function=\"fn\",le=\"0.01\"} 1\n"
            "runtimed_invocation_duration_seconds_bucket{function=\"fn\",le=\"0.1\"} 1\n"
            "runtimed_invocation_duration_seconds_bucket{function=\"fn\",le=\"1\"} 2\n"
            "runtimed_invocation_duration_seconds_bucket{function=\"fn\",le=\"+Inf\"} 3\n"
            "runtimed_invocation_duration_seconds_sum{function=\"fn\"} 3.505\n"
            "runtimed_invocation_duration_seconds_count{function=\"fn\"} 3\n");
  const auto [ok, output] = promtool_check(text);
  EXPECT_TRUE(ok) << output;
}

TEST(MetricsRegistry, PromtoolRejectsWhatIsNotTheFormat) {
  // The check above can fail: promtool refuses a malformed exposition.
  const auto [ok, output] = promtool_check("# TYPE x counter\nx{a=\"b} 1\n");
  EXPECT_FALSE(ok) << output;
}

TEST(MetricsRegistry, LabelValuesAreEscaped) {
  EXPECT_EQ(escape_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  Registry registry;
  registry.counter("x_total", "X.", {"name"}).inc({"we\"ird\nname"});
  const std::string text = registry.expose();
  EXPECT_NE(text.find("x_total{name=\"we\\\"ird\\nname\"} 1\n"), std::string::npos) << text;
  const auto [ok, output] = promtool_check(text);
  EXPECT_TRUE(ok) << output;
}

TEST(MetricsRegistry, ScrapeTimeGaugesAreRefreshedBeforeEachExposition) {
  Registry registry;
  auto& environments = registry.gauge("runtimed_environments", "Environments.", {"state"});
  int busy = 0;
  registry.on_scrape([&] { environments.set({"busy"}, busy); });
  busy = 3;
  EXPECT_NE(registry.expose().find("runtimed_environments{state=\"busy\"} 3\n"), std::string::npos);
  busy = 1;
  EXPECT_NE(registry.expose().find("runtimed_environments{state=\"busy\"} 1\n"), std::string::npos);
}

TEST(MetricsRegistry, ReplacedGaugeKeepsNoSeriesThatTheNewReadLacks) {
  Registry registry;
  auto& depth = registry.gauge("runtimed_async_queue_depth", "Depth.", {"function"});
  depth.replace({{{"a"}, 2}, {{"b"}, 1}});
  EXPECT_NE(registry.expose().find("runtimed_async_queue_depth{function=\"b\"} 1\n"),
            std::string::npos);
  depth.replace({{{"a"}, 5}});
  const std::string text = registry.expose();
  EXPECT_NE(text.find("runtimed_async_queue_depth{function=\"a\"} 5\n"), std::string::npos);
  EXPECT_EQ(text.find("function=\"b\""), std::string::npos) << text;
}

TEST(MetricsRegistry, ValuesFormatAsPrometheusReadsThem) {
  EXPECT_EQ(format_value(0.25), "0.25");
  EXPECT_EQ(format_value(3), "3");
  EXPECT_EQ(format_value(1.0 / 0.0), "+Inf");
  EXPECT_EQ(format_value(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(format_value(0.0 / 0.0), "NaN");
}

TEST(BoundedLabel, KeepsTheFirstValuesAndFoldsTheRestIntoOther) {
  BoundedLabel function(2);
  EXPECT_EQ(function("a"), "a");
  EXPECT_EQ(function("b"), "b");
  EXPECT_EQ(function("c"), "_other");
  EXPECT_EQ(function("a"), "a");
}

}  // namespace
}  // namespace common::metrics
