// Runs queued asynchronous events through Controller::invoke (so the same admission applies),
// within each function's concurrency, and settles each attempt in the state database: success
// (on-success destination), retry after a function error, backoff after a throttle or platform
// error, or failure (dead-letter queue, on-failure destination, else dropped and logged).
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <condition_variable>
#include <cstdint>
#include <expected>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

#include "api/function_catalog.hpp"
#include "runtimed/async/async_metrics.hpp"
#include "runtimed/async/async_policy.hpp"
#include "runtimed/async/async_queue.hpp"
#include "runtimed/async/message_queues.hpp"
#include "runtimed/controller/controller.hpp"
#include "runtimed/controller/function_log.hpp"
#include "runtimed/store/function_settings.hpp"

namespace runtimed {

struct AsyncDispatcherOptions {
  AsyncPolicy policy;
  HostIdentity host;
  size_t max_in_flight = 1000;  // attempts running at once, across functions
  // Where the queue's metrics go (null: a registry of its own, unexposed); how many functions
  // they name.
  common::metrics::Registry* metrics = nullptr;
  size_t metrics_function_limit = 100;
};

class AsyncDispatcher {
 public:
  AsyncDispatcher(AsyncDispatcherOptions options, AsyncQueue& queue, MessageQueues& queues,
                  Controller& controller, api::FunctionCatalog& catalog, FunctionSettings& settings,
                  FunctionLogs& logs);
  ~AsyncDispatcher();
  AsyncDispatcher(const AsyncDispatcher&) = delete;
  AsyncDispatcher& operator=(const AsyncDispatcher&) = delete;

  // Puts attempts a crash cut off back in the queue, then starts dispatching.
  std::expected<void, std::string> start();
  // Stores the event durably (committed) and wakes the dispatcher.
  // `qualifier`: the version or alias invoked ("" for none), resolved when the event runs.
  std::expected<void, common::StoreError> enqueue(const std::string& function,
                                                  const std::string& payload,
                                                  const std::string& request_id,
                                                  const std::string& qualifier = "");
  // The same in one transaction with `also` (the caller's own writes, on the queue's database):
  // both commit or neither; when `also` fails nothing is enqueued and its error is returned.
  std::expected<void, common::StoreError> enqueue_with(const StateDb::WriteWork& also,
                                                       const std::string& function,
                                                       const std::string& payload,
                                                       const std::string& request_id,
                                                       const std::string& qualifier = "");
  // The queue's dead letters become new events for their functions (new request ids, fresh
  // attempts); returns how many.
  std::expected<int64_t, common::StoreError> redrive(const std::string& queue);
  // Stops claiming events; attempts still running that end in a function error from now on are
  // kept as platform errors (the daemon is what cut them off). Call before Controller::shutdown.
  void stop();
  // After Controller::shutdown: waits for the last outcomes to be recorded.
  void join();
  // Looks at the queue now (cluster mode: another node enqueued).
  void wake();

 private:
  struct Delivery {
    std::string queue;     // an SQS queue name, or
    std::string function;  // a function that gets the body as an event
    std::string body;
    nlohmann::json attributes;     // queue messages only
    std::string source_function;   // dead letters: redrive sends them back here
    std::string_view destination;  // for metrics: dead_letter_queue, on_failure, on_success
  };

  void loop();
  // Claims and dispatches what is due; returns how long to sleep.
  std::chrono::milliseconds pump();
  void dispatch(AsyncEvent event);
  void on_result(const AsyncEvent& event, const api::InvokeResult& result);
  // `executed_version`: the version that ran ("" when none did).
  void succeed(const AsyncEvent& event, const std::string& response,
               const api::EventInvokeConfig& config, const std::string& executed_version);
  void fail(const AsyncEvent& event, FailureCondition condition, int status,
            const std::string& error, const api::EventInvokeConfig& config,
            const std::string& executed_version = "");
  // Delivers and removes the event in one transaction.
  void settle(const AsyncEvent& event, const std::vector<Delivery>& deliveries);
  std::vector<Delivery> deliveries_to(const std::string& function_name, const std::string& arn,
                                      const std::string& body, std::string_view destination);

  AsyncDispatcherOptions options_;
  AsyncQueue& queue_;
  MessageQueues& queues_;
  Controller& controller_;
  api::FunctionCatalog& catalog_;
  FunctionSettings& settings_;
  FunctionLogs& logs_;
  common::metrics::Registry own_metrics_;  // when options_.metrics is null
  AsyncMetrics metrics_;
  boost::asio::thread_pool outcomes_{4};  // DB work of finished attempts, off the io threads

  std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;
  bool stopping_ = false;
  size_t in_flight_ = 0;
  int64_t next_orphan_check_ms_ = 0;  // the loop thread's own
  std::unordered_map<std::string, size_t> in_flight_by_function_;
  std::thread thread_;
};

}  // namespace runtimed
