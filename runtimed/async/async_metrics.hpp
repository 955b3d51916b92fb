// The async queue's Prometheus metrics: depth and oldest event age by function, read from the state
// database at scrape time (one query, so enqueue and settle pay nothing for them), and counters of
// retries, destination sends and events that expired by age, fed by the dispatcher.
#pragma once

#include <string>
#include <string_view>

#include "common/metrics_registry.hpp"
#include "runtimed/async/async_queue.hpp"

namespace runtimed {

class AsyncMetrics {
 public:
  // `queue` is read at each scrape; the function label takes `function_label_limit` names at most.
  AsyncMetrics(common::metrics::Registry& registry, size_t function_label_limit, AsyncQueue& queue);

  // reason: function_error (spends a retry), throttled (429), platform_error (5xx; backs off).
  void retry(const std::string& function, std::string_view reason);
  // destination: dead_letter_queue, on_failure, on_success.
  void destination_send(const std::string& function, std::string_view destination);
  void expired(const std::string& function);

 private:
  void refresh(AsyncQueue& queue);

  common::metrics::BoundedLabel function_label_;
  common::metrics::GaugeFamily& depth_;
  common::metrics::GaugeFamily& oldest_age_;
  common::metrics::CounterFamily& retries_;
  common::metrics::CounterFamily& destination_sends_;
  common::metrics::CounterFamily& expired_;
};

}  // namespace runtimed
