// The idle curve and the memory sweep (see bench_curves.hpp).
#include "runtimed/bench/bench_curves.hpp"

#include <map>

namespace runtimed::bench {

std::vector<IdlePoint> idle_curve(const std::vector<Sample>& samples) {
  std::vector<IdlePoint> points;
  std::vector<std::vector<double>> latencies;
  std::vector<double> thaw_sums;
  for (const Sample& s : samples) {
    if (!s.idle_gap_s) continue;
    size_t i = 0;
    while (i < points.size() && points[i].gap_s != *s.idle_gap_s) ++i;
    if (i == points.size()) {
      points.push_back(IdlePoint{.gap_s = *s.idle_gap_s});
      latencies.emplace_back();
      thaw_sums.push_back(0);
    }
    if (s.status != 200) continue;
    latencies[i].push_back(s.latency_ms);
    if (s.cold) {
      ++points[i].cold;
    } else if (s.thaw_ms) {
      ++points[i].thawed;
      thaw_sums[i] += *s.thaw_ms;
    } else {
      ++points[i].warm;
    }
  }
  for (size_t i = 0; i < points.size(); ++i) {
    points[i].latency = summarize_latency(std::move(latencies[i]));
    if (points[i].thawed > 0)
      points[i].thaw_ms = thaw_sums[i] / static_cast<double>(points[i].thawed);
  }
  return points;
}

std::vector<MemoryPoint> memory_sweep(const std::vector<Sample>& samples) {
  struct Sums {
    std::vector<double> cold, warm;
    double duration = 0, billed = 0, init = 0;
    size_t reported_warm = 0, reported_cold = 0;
  };
  std::map<int, Sums> by_size;
  for (const Sample& s : samples) {
    if (s.memory_mb <= 0 || s.status != 200) continue;
    Sums& sums = by_size[s.memory_mb];
    (s.cold ? sums.cold : sums.warm).push_back(s.latency_ms);
    if (!s.report) continue;
    if (s.cold && s.report->init_duration_ms) {
      sums.init += *s.report->init_duration_ms;
      ++sums.reported_cold;
    } else if (!s.cold) {
      sums.duration += s.report->duration_ms;
      sums.billed += s.report->billed_duration_ms;
      ++sums.reported_warm;
    }
  }
  std::vector<MemoryPoint> points;
  for (auto& [memory_mb, sums] : by_size) {
    MemoryPoint p{.memory_mb = memory_mb};
    p.cold = summarize_latency(std::move(sums.cold));
    p.warm = summarize_latency(std::move(sums.warm));
    if (sums.reported_warm > 0) {
      const auto n = static_cast<double>(sums.reported_warm);
      p.duration_ms = sums.duration / n;
      p.billed_ms = sums.billed / n;
      p.gb_seconds = p.billed_ms / 1000.0 * memory_mb / 1024.0;
      p.usd_per_million = 1e6 * (p.gb_seconds * kUsdPerGbSecond + kUsdPerRequest);
    }
    if (sums.reported_cold > 0) p.init_ms = sums.init / static_cast<double>(sums.reported_cold);
    points.push_back(p);
  }
  return points;
}

}  // namespace runtimed::bench
