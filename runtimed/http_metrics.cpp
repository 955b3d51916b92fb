// HttpMetrics (see http_metrics.hpp).
#include "runtimed/http_metrics.hpp"

#include <algorithm>

namespace runtimed {

namespace {

using common::metrics::format_value;
using Series = std::vector<HttpMetrics::RouteSeries>;

constexpr std::array<int64_t, HttpMetrics::kBounds.size()> bounds_ns() {
  std::array<int64_t, HttpMetrics::kBounds.size()> out{};
  for (size_t i = 0; i < out.size(); ++i) {
    // Positive bounds: + 0.5 rounds them right, and llround is not constexpr in GCC 12.
    // NOLINTNEXTLINE(bugprone-incorrect-roundings)
    out[i] = static_cast<int64_t>(HttpMetrics::kBounds[i] * 1e9 + 0.5);
  }
  return out;
}
constexpr auto kBoundsNs = bounds_ns();

class RequestsFamily final : public common::metrics::Family {
 public:
  explicit RequestsFamily(std::shared_ptr<const Series> series)
      : Family("runtimed_http_requests_total",
               "Client API requests answered, by route pattern and HTTP status code.",
               {"route", "code"}),
        series_(std::move(series)) {}
  void expose(std::string& out) const override {
    header(out, "counter");
    for (const auto& route : *series_) {
      for (int i = 0; i < HttpMetrics::kCodes; ++i) {
        const uint64_t n = route.by_code[i].load(std::memory_order_relaxed);
        if (n == 0) continue;
        out += name_ + '{' + route.label + ",code=\"" +
               std::to_string(HttpMetrics::kFirstCode + i) + "\"} " + std::to_string(n) + '\n';
      }
    }
  }

 private:
  std::shared_ptr<const Series> series_;
};

class DurationFamily final : public common::metrics::Family {
 public:
  explicit DurationFamily(std::shared_ptr<const Series> series)
      : Family("runtimed_http_request_duration_seconds",
               "From routing a client API request to handing its response to the server.",
               {"route"}),
        series_(std::move(series)) {}
  void expose(std::string& out) const override {
    header(out, "histogram");
    for (const auto& route : *series_) {
      // One snapshot of the buckets; the count is their total, so it always equals the +Inf
      // bucket even while requests finish.
      std::array<uint64_t, HttpMetrics::kBounds.size() + 1> buckets{};
      uint64_t total = 0;
      for (size_t i = 0; i < buckets.size(); ++i) {
        buckets[i] = route.buckets[i].load(std::memory_order_relaxed);
        total += buckets[i];
      }
      if (total == 0) continue;
      uint64_t cumulative = 0;
      for (size_t i = 0; i < buckets.size(); ++i) {
        cumulative += buckets[i];
        const std::string le =
            i < HttpMetrics::kBounds.size() ? format_value(HttpMetrics::kBounds[i]) : "+Inf";
        out += name_ + "_bucket{" + route.label + ",le=\"" + le + "\"} " +
               std::to_string(cumulative) + '\n';
      }
      const double sum = static_cast<double>(route.sum_ns.load(std::memory_order_relaxed)) / 1e9;
      out += name_ + "_sum{" + route.label + "} " + format_value(sum) + '\n';
      out += name_ + "_count{" + route.label + "} " + std::to_string(total) + '\n';
    }
  }

 private:
  std::shared_ptr<const Series> series_;
};

}  // namespace

HttpMetrics::HttpMetrics(common::metrics::Registry& registry,
                         const std::vector<std::string>& routes)
    : series_(std::make_shared<Series>(routes.size() + 1)), unmatched_(routes.size()) {
  for (size_t i = 0; i <= routes.size(); ++i) {
    (*series_)[i].label =
        "route=\"" +
        common::metrics::escape_label_value(i < routes.size() ? routes[i] : "unmatched") + '"';
  }
  registry.add(std::make_unique<RequestsFamily>(series_));
  registry.add(std::make_unique<DurationFamily>(series_));
}

void HttpMetrics::observe(size_t route, int status, std::chrono::steady_clock::duration elapsed) {
  RouteSeries& s = (*series_)[std::min(route, unmatched_)];
  const int code = std::clamp(status, kFirstCode, kFirstCode + kCodes - 1);
  s.by_code[code - kFirstCode].fetch_add(1, std::memory_order_relaxed);
  const int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count();
  size_t bucket = 0;
  while (bucket < kBoundsNs.size() && ns > kBoundsNs[bucket]) ++bucket;
  s.buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  s.sum_ns.fetch_add(static_cast<uint64_t>(std::max<int64_t>(ns, 0)), std::memory_order_relaxed);
}

}  // namespace runtimed
