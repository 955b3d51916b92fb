// ControllerMetrics (see controller_metrics.hpp).
#include "runtimed/controller/controller_metrics.hpp"

#include "runtimed/controller/controller.hpp"

namespace runtimed {

namespace {
// Seconds: from a warm no-op (sub-millisecond) to Lambda's 15-minute limit.
const std::vector<double> kDurationBounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                          0.05,   0.1,   0.25,   0.5,   1,    2.5,
                                          5,      10,    30,     60,    300,  900};
const std::vector<double> kInitBounds{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}  // namespace

ControllerMetrics::ControllerMetrics(common::metrics::Registry& registry,
                                     size_t function_label_limit,
                                     std::function<ControllerStats()> stats)
    : function_label_(function_label_limit),
      invocations_(registry.counter("runtimed_invocations_total",
                                    "Invocations that ended, by function and outcome.",
                                    {"function", "outcome"})),
      cold_starts_(registry.counter("runtimed_cold_starts_total",
                                    "Invocations that started a new execution environment.",
                                    {"function"})),
      init_duration_(registry.histogram(
          "runtimed_init_duration_seconds",
          "From launching a runtime to its first request for an event (Init Duration).",
          {"function"}, kInitBounds)),
      invocation_duration_(
          registry.histogram("runtimed_invocation_duration_seconds",
                             "Invocation time as REPORT's Duration gives it (init excluded).",
                             {"function"}, kDurationBounds)),
      throttles_(registry.counter("runtimed_throttles_total",
                                  "Invocations refused with 429, by reason.", {"reason"})),
      environments_(
          registry.gauge("runtimed_environments", "Execution environments by state.", {"state"})),
      memory_budget_(registry.gauge("runtimed_memory_budget_bytes",
                                    "Memory that environments may be given in all.")),
      memory_used_(registry.gauge("runtimed_memory_used_bytes",
                                  "Memory given to the environments that exist.")),
      concurrency_limit_(registry.gauge("runtimed_concurrency_limit",
                                        "Invocations the host runs at once at most.")) {
  registry.on_scrape([this, stats = std::move(stats)] {
    const ControllerStats s = stats();
    environments_.set({"busy"}, static_cast<double>(s.busy));
    environments_.set({"warm"}, static_cast<double>(s.idle - s.frozen));
    environments_.set({"frozen"}, static_cast<double>(s.frozen));
    environments_.set({"prepared"}, static_cast<double>(s.prepared));
    environments_.set({"stem"}, static_cast<double>(s.stems));
    memory_budget_.set({}, static_cast<double>(s.memory_budget_mb) * 1024 * 1024);
    memory_used_.set({}, static_cast<double>(s.memory_used_mb) * 1024 * 1024);
    concurrency_limit_.set({}, static_cast<double>(s.concurrency_limit));
  });
}

void ControllerMetrics::invocation(const std::string& function, std::string_view outcome,
                                   double duration_s) {
  const std::string label = function_label_(function);
  invocations_.inc({label, std::string(outcome)});
  invocation_duration_.observe({label}, duration_s);
}

void ControllerMetrics::cold_start(const std::string& function) {
  cold_starts_.inc({function_label_(function)});
}

void ControllerMetrics::init_done(const std::string& function, double init_s) {
  init_duration_.observe({function_label_(function)}, init_s);
}

void ControllerMetrics::throttle(std::string_view reason) { throttles_.inc({std::string(reason)}); }

}  // namespace runtimed
