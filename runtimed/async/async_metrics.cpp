// AsyncMetrics (see async_metrics.hpp).
#include "runtimed/async/async_metrics.hpp"

#include <algorithm>

#include "common/module_logger.hpp"
#include "runtimed/async/async_policy.hpp"

namespace runtimed {

AsyncMetrics::AsyncMetrics(common::metrics::Registry& registry, size_t function_label_limit,
                           AsyncQueue& queue)
    : function_label_(function_label_limit),
      depth_(registry.gauge("runtimed_async_queue_depth",
                            "Asynchronous events stored and not yet finished, by function and "
                            "state (queued, in_flight).",
                            {"function", "state"})),
      oldest_age_(registry.gauge("runtimed_async_oldest_event_age_seconds",
                                 "Age of the function's oldest unfinished asynchronous event.",
                                 {"function"})),
      retries_(registry.counter(
          "runtimed_async_retries_total",
          "Asynchronous attempts that failed and were queued again, by function and reason.",
          {"function", "reason"})),
      destination_sends_(registry.counter(
          "runtimed_async_destination_sends_total",
          "Records sent to a dead-letter queue or an on-failure or on-success destination.",
          {"function", "destination"})),
      expired_(registry.counter("runtimed_async_expired_events_total",
                                "Asynchronous events that ended unrun, older than their maximum "
                                "event age.",
                                {"function"})) {
  registry.on_scrape([this, &queue] { refresh(queue); });
}

void AsyncMetrics::refresh(AsyncQueue& queue) {
  auto groups = queue.depth_by_function();
  if (!groups) {
    static const auto log = common::module_logger("async");
    log->warn("reading the async queue for metrics: {}", groups.error());
    return;  // the last values stay: better than a queue that looks empty
  }
  const int64_t now = now_epoch_ms();
  std::map<common::metrics::Labels, double> depth;
  std::map<common::metrics::Labels, double> age;
  for (const auto& g : *groups) {
    // Functions beyond the label limit add up under "_other", whose age is the oldest of theirs.
    const std::string function = function_label_(g.function);
    depth[{function, g.state}] += static_cast<double>(g.count);
    double& oldest = age[{function}];
    oldest = std::max(oldest,
                      static_cast<double>(std::max<int64_t>(now - g.oldest_enqueued_ms, 0)) / 1000);
  }
  depth_.replace(std::move(depth));
  oldest_age_.replace(std::move(age));
}

void AsyncMetrics::retry(const std::string& function, std::string_view reason) {
  retries_.inc({function_label_(function), std::string(reason)});
}

void AsyncMetrics::destination_send(const std::string& function, std::string_view destination) {
  destination_sends_.inc({function_label_(function), std::string(destination)});
}

void AsyncMetrics::expired(const std::string& function) {
  expired_.inc({function_label_(function)});
}

}  // namespace runtimed
