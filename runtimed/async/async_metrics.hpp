// The async path's Prometheus metrics: events waiting and in flight, the oldest event's age (both
// read from the queue at scrape time), retries after function errors and dead-letter sends.
#pragma once

#include "common/metrics_registry.hpp"
#include "runtimed/async/async_queue.hpp"

namespace runtimed {

class AsyncMetrics {
 public:
  AsyncMetrics(common::metrics::Registry& registry, AsyncQueue& queue);

  // An attempt that ended in a function error and was queued again.
  void retry() { retries_.inc({}); }
  // An event that failed for good and was sent to its function's dead-letter queue.
  void dead_letter_sent() { dead_letters_.inc({}); }

 private:
  common::metrics::CounterFamily& retries_;
  common::metrics::CounterFamily& dead_letters_;
  common::metrics::GaugeFamily& events_;
  common::metrics::GaugeFamily& oldest_age_;
};

}  // namespace runtimed
