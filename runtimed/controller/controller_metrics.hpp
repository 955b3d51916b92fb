// The controller's Prometheus metrics: invocations by function and outcome, cold starts, init and
// invocation durations, throttles by reason, and (read at scrape time) environments by state and
// the memory budget. Function labels are bounded (BoundedLabel).
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "common/metrics_registry.hpp"

namespace runtimed {

struct ControllerStats;

class ControllerMetrics {
 public:
  // `stats` is called at each scrape for the gauges.
  ControllerMetrics(common::metrics::Registry& registry, size_t function_label_limit,
                    std::function<ControllerStats()> stats);

  // outcome: success, function_error, timeout, crash, out_of_memory, platform_error.
  void invocation(const std::string& function, std::string_view outcome, double duration_s);
  void cold_start(const std::string& function);
  void init_done(const std::string& function, double init_s);
  // reason: the 429's Reason (ConcurrentInvocationLimitExceeded, …) or MemoryBudgetFull, DiskFull.
  void throttle(std::string_view reason);

 private:
  common::metrics::BoundedLabel function_label_;
  common::metrics::CounterFamily& invocations_;
  common::metrics::CounterFamily& cold_starts_;
  common::metrics::HistogramFamily& init_duration_;
  common::metrics::HistogramFamily& invocation_duration_;
  common::metrics::CounterFamily& throttles_;
  common::metrics::GaugeFamily& environments_;
  common::metrics::GaugeFamily& memory_budget_;
  common::metrics::GaugeFamily& memory_used_;
  common::metrics::GaugeFamily& concurrency_limit_;
};

}  // namespace runtimed
