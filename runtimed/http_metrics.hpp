// The client API's Prometheus metrics: requests by route and status code, and their duration,
// labelled by the route table's pattern ("POST /2015-03-31/functions/{name...}/invocations"), never
// the raw path, whose function names and ARNs would make the label unbounded; "unmatched" counts
// requests no route took. Counting is lock-free and allocation-free: each route's series are fixed
// arrays of atomics made at startup, so the Invoke path pays a few relaxed atomic adds.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/metrics_registry.hpp"

namespace runtimed {

class HttpMetrics {
 public:
  // `routes`: each route's label, in the route table's order (a route's index is its series).
  HttpMetrics(common::metrics::Registry& registry, const std::vector<std::string>& routes);

  // The series of requests no route took.
  size_t unmatched() const { return unmatched_; }
  // One answered request of route `route` (an index into `routes`, or unmatched()).
  void observe(size_t route, int status, std::chrono::steady_clock::duration elapsed);

  // Seconds: a loopback health check (tens of microseconds) to Lambda's 15-minute limit.
  static constexpr std::array<double, 20> kBounds{
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
      0.25,   0.5,     1,      2.5,   5,      10,    30,   60,    300,  900};
  static constexpr int kFirstCode = 100;
  static constexpr int kCodes = 500;  // 100 … 599; anything else is counted as 599

  struct RouteSeries {
    std::string label;  // the route="…" label text, escaped once
    std::array<std::atomic<uint64_t>, kCodes> by_code{};
    std::array<std::atomic<uint64_t>, kBounds.size() + 1> buckets{};  // not cumulative; +Inf last
    std::atomic<uint64_t> sum_ns{0};
  };

 private:
  // Shared with the registry's two families, which may outlive this object.
  std::shared_ptr<std::vector<RouteSeries>> series_;
  size_t unmatched_;
};

}  // namespace runtimed
