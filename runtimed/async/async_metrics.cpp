// AsyncMetrics (see async_metrics.hpp).
#include "runtimed/async/async_metrics.hpp"

#include <chrono>

namespace runtimed {

AsyncMetrics::AsyncMetrics(common::metrics::Registry& registry, AsyncQueue& queue)
    : retries_(registry.counter("runtimed_async_retries_total",
                                "Asynchronous attempts that ended in a function error and were "
                                "queued to run again.")),
      dead_letters_(registry.counter("runtimed_async_dead_letters_total",
                                     "Asynchronous events that failed for good and were sent to "
                                     "their function's dead-letter queue.")),
      events_(registry.gauge("runtimed_async_events",
                             "Asynchronous events in the durable queue, by state.", {"state"})),
      oldest_age_(registry.gauge("runtimed_async_oldest_event_age_seconds",
                                 "Age of the oldest asynchronous event still queued or in "
                                 "flight; 0 when there is none.")) {
  // One indexed aggregate over async_events per scrape (GET /metrics runs on the blocking pool).
  registry.on_scrape([this, &queue] {
    auto backlog = queue.total_backlog();
    if (!backlog) return;  // keep the last values; the store logs its own errors
    events_.set({"queued"}, static_cast<double>(backlog->queued));
    events_.set({"in_flight"}, static_cast<double>(backlog->in_flight));
    events_.set({"retrying"}, static_cast<double>(backlog->retrying));
    double age_s = 0;
    if (backlog->oldest_enqueued_ms) {
      const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
      age_s =
          static_cast<double>(std::max<int64_t>(0, now_ms - *backlog->oldest_enqueued_ms)) / 1000.0;
    }
    oldest_age_.set({}, age_s);
  });
}

}  // namespace runtimed
