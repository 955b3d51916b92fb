// The client API's request metrics: one series per route pattern and status code, "unmatched" for
// requests no route took, a duration histogram per route, all accepted by promtool.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>

#include "common/ids.hpp"
#include "runtimed/http_metrics.hpp"

namespace {

using namespace std::chrono_literals;

std::optional<double> sample(const std::string& text, const std::string& series) {
  const std::string prefix = "\n" + series + " ";
  const size_t at = ("\n" + text).find(prefix);
  if (at == std::string::npos) return std::nullopt;
  return std::stod(text.substr(at + prefix.size() - 1));
}

// `promtool check metrics` on `text`: whether it passed, and what it said.
std::pair<bool, std::string> promtool_check(const std::string& text) {
  const auto path =
      std::filesystem::temp_directory_path() / ("http-metrics-" + common::random_hex(8) + ".txt");
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

const std::vector<std::string> kRoutes{"POST /2015-03-31/functions/{name...}/invocations",
                                       "GET /2015-03-31/functions/{name}",
                                       "ANY /runtimed/v1/health"};

TEST(HttpMetrics, CountsByRoutePatternAndStatusCodeWithUnmatchedApart) {
  common::metrics::Registry registry;
  runtimed::HttpMetrics metrics(registry, kRoutes);
  metrics.observe(0, 200, 2ms);
  metrics.observe(0, 200, 3ms);
  metrics.observe(0, 429, 100us);
  metrics.observe(1, 404, 1ms);
  metrics.observe(metrics.unmatched(), 400, 50us);
  const std::string text = registry.expose();
  EXPECT_EQ(
      sample(
          text,
          R"(runtimed_http_requests_total{route="POST /2015-03-31/functions/{name...}/invocations",code="200"})"),
      2)
      << text;
  EXPECT_EQ(
      sample(
          text,
          R"(runtimed_http_requests_total{route="POST /2015-03-31/functions/{name...}/invocations",code="429"})"),
      1);
  EXPECT_EQ(
      sample(
          text,
          R"(runtimed_http_requests_total{route="GET /2015-03-31/functions/{name}",code="404"})"),
      1);
  EXPECT_EQ(sample(text, R"(runtimed_http_requests_total{route="unmatched",code="400"})"), 1);
  // A route no request took has no series at all.
  EXPECT_EQ(text.find("/runtimed/v1/health"), std::string::npos) << text;
}

TEST(HttpMetrics, DurationHistogramIsCumulativeAndItsCountIsTheInfBucket) {
  common::metrics::Registry registry;
  runtimed::HttpMetrics metrics(registry, kRoutes);
  metrics.observe(2, 200, 80us);   // <= 0.0001
  metrics.observe(2, 200, 700us);  // <= 0.001
  metrics.observe(2, 503, 2s);     // <= 2.5
  metrics.observe(2, 200, 1h);     // +Inf only
  const std::string text = registry.expose();
  const std::string route = R"(route="ANY /runtimed/v1/health")";
  const std::string bucket = "runtimed_http_request_duration_seconds_bucket{" + route;
  EXPECT_EQ(sample(text, bucket + R"(,le="0.0001"})"), 1) << text;
  EXPECT_EQ(sample(text, bucket + R"(,le="0.001"})"), 2);
  EXPECT_EQ(sample(text, bucket + R"(,le="1"})"), 2);
  EXPECT_EQ(sample(text, bucket + R"(,le="2.5"})"), 3);
  EXPECT_EQ(sample(text, bucket + R"(,le="900"})"), 3);
  EXPECT_EQ(sample(text, bucket + R"(,le="+Inf"})"), 4);
  EXPECT_EQ(sample(text, "runtimed_http_request_duration_seconds_count{" + route + "}"), 4);
  const auto sum = sample(text, "runtimed_http_request_duration_seconds_sum{" + route + "}");
  ASSERT_TRUE(sum);
  EXPECT_NEAR(*sum, 3602.00078, 1e-6);
}

TEST(HttpMetrics, ExpositionPassesPromtool) {
  common::metrics::Registry registry;
  runtimed::HttpMetrics metrics(registry, kRoutes);
  for (size_t route = 0; route <= kRoutes.size(); ++route) metrics.observe(route, 200, 1ms);
  metrics.observe(0, 502, 10ms);
  const auto [ok, output] = promtool_check(registry.expose());
  EXPECT_TRUE(ok) << output;
}

}  // namespace
