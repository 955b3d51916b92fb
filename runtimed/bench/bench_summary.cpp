// summarize (see bench_summary.hpp).
#include "runtimed/bench/bench_summary.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace runtimed::bench {

double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

LatencySummary summarize_latency(std::vector<double> latencies_ms) {
  LatencySummary s;
  s.count = latencies_ms.size();
  if (latencies_ms.empty()) return s;
  std::sort(latencies_ms.begin(), latencies_ms.end());
  s.p50 = percentile(latencies_ms, 0.50);
  s.p90 = percentile(latencies_ms, 0.90);
  s.p99 = percentile(latencies_ms, 0.99);
  s.p999 = percentile(latencies_ms, 0.999);
  s.max = latencies_ms.back();
  s.mean = std::accumulate(latencies_ms.begin(), latencies_ms.end(), 0.0) /
           static_cast<double>(latencies_ms.size());
  return s;
}

Summary summarize(const std::vector<Sample>& samples, double duration_s) {
  Summary s;
  std::vector<double> all, cold, warm;
  std::vector<double> launch, init, invoke, other;
  size_t answered = 0;
  for (const Sample& sample : samples) {
    if (sample.status == 429) {
      ++s.throttles;
      ++s.throttles_by_reason[sample.throttle_reason.empty() ? "unknown" : sample.throttle_reason];
      continue;
    }
    if (sample.status != 200 || !sample.error_type.empty()) ++s.errors;
    if (sample.status != 200) continue;
    ++answered;
    all.push_back(sample.latency_ms);
    (sample.cold ? cold : warm).push_back(sample.latency_ms);
    if (sample.cold && sample.phases) {
      const ColdPhases& p = *sample.phases;
      launch.push_back(p.launch_ms);
      init.push_back(p.init_ms);
      invoke.push_back(p.invoke_ms);
      other.push_back(std::max(0.0, sample.latency_ms - p.launch_ms - p.init_ms - p.invoke_ms));
    }
    if (sample.report) {
      s.gb_seconds += sample.report->billed_duration_ms / 1000.0 *
                      static_cast<double>(sample.report->memory_size_mb) / 1024.0;
    }
  }
  s.all = summarize_latency(std::move(all));
  s.cold = summarize_latency(std::move(cold));
  s.warm = summarize_latency(std::move(warm));
  s.cold_launch = summarize_latency(std::move(launch));
  s.cold_init = summarize_latency(std::move(init));
  s.cold_invoke = summarize_latency(std::move(invoke));
  s.cold_other = summarize_latency(std::move(other));
  const auto total = static_cast<double>(samples.size());
  if (answered > 0)
    s.cold_ratio = static_cast<double>(s.cold.count) / static_cast<double>(answered);
  if (total > 0) {
    s.throttle_ratio = static_cast<double>(s.throttles) / total;
    s.error_ratio = static_cast<double>(s.errors) / total;
  }
  s.duration_s = duration_s;
  if (duration_s > 0) s.rate = total / duration_s;
  return s;
}

}  // namespace runtimed::bench
