// SQS event source mappings from runtimed's local queues: Lambda's 2015-03-31 API
// (Create/Get/Update/Delete/ListEventSourceMappings) and the poller that feeds each enabled
// mapping's function batches of its queue's messages, as Lambda's SQS pollers do: up to
// BatchSize messages (gathered for up to MaximumBatchingWindowInSeconds, each mapping on its own
// clock, so one mapping's window never delays another), one synchronous invocation with the SQS
// event, the messages deleted only after it succeeds (with ReportBatchItemFailures: all but the
// reported ones). A failed batch becomes visible again after the queue's visibility timeout, and
// the queue's redrive policy moves a message received too often to its dead-letter queue. A
// mapping whose function (or qualifier) is gone receives nothing until it is back. Messages live
// in SQLite, so nothing is lost across SIGKILL: one in flight reappears and runs again
// (at-least-once, as SQS).
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <condition_variable>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api/function_api.hpp"
#include "api/http_types.hpp"
#include "common/thread_annotations.hpp"
#include "runtimed/async/message_queues.hpp"
#include "runtimed/controller/controller.hpp"
#include "runtimed/store/state_db.hpp"

namespace runtimed {

struct EventSourceMapping {
  std::string uuid;
  std::string function;  // account-scoped
  std::string qualifier;
  std::string queue;  // account-scoped
  std::string event_source_arn;
  int batch_size = 10;
  int batching_window_s = 0;
  bool enabled = true;
  bool report_batch_item_failures = false;
  double last_modified = 0;  // epoch seconds, as Lambda answers
};

// GetEventSourceMapping's LastProcessingResult. Lambda documents "No records processed" and
// "PROBLEM: Function call failed" in its examples; "OK" and "PROBLEM: Function not found" are the
// values its consoles show for a good batch and for a mapping whose function was deleted.
inline constexpr const char* kNoRecordsProcessed = "No records processed";
inline constexpr const char* kProcessingOk = "OK";
inline constexpr const char* kFunctionCallFailed = "PROBLEM: Function call failed";
inline constexpr const char* kFunctionNotFound = "PROBLEM: Function not found";

// The SQS event for a batch (pure; tests/unit/daemon_event_source_mappings_test.cpp).
nlohmann::json sqs_event(const std::vector<QueueMessage>& batch, const std::string& queue_arn,
                         const std::string& region);
// With ReportBatchItemFailures: the message ids of `batch` a function's answer reports as failed,
// or nullopt when the answer is malformed (then, as on Lambda, the whole batch failed). As Lambda
// documents it: an empty answer, null, or an empty or null list is a complete success; invalid
// JSON, an itemIdentifier that is empty, null, under another key, or not a message of the batch
// is a complete failure.
std::optional<std::vector<std::string>> batch_item_failures(const std::string& answer,
                                                            const std::vector<QueueMessage>& batch);

class EventSourceMappings {
 public:
  EventSourceMappings(common::LambdaIdentity identity, StateDb& db, MessageQueues& queues,
                      api::FunctionApi& functions, Controller& controller);
  ~EventSourceMappings();  // stop(), and the settling of batches already answered
  EventSourceMappings(const EventSourceMappings&) = delete;
  EventSourceMappings& operator=(const EventSourceMappings&) = delete;

  std::expected<void, std::string> start();
  // Stops polling (idempotent); batches in flight go on.
  void stop();
  // After the controller has ended every invocation: waits until the batches in flight have
  // settled (their successful messages deleted).
  void drain();

  // /2015-03-31/event-source-mappings[/{uuid}] (blocking: SQLite).
  api::HttpResponse handle(const api::HttpRequest& request, const std::string& uuid,
                           const std::string& request_id);

 private:
  api::HttpResponse create(const api::HttpRequest& request, const std::string& request_id);
  api::HttpResponse update(const api::HttpRequest& request, const std::string& uuid,
                           const std::string& request_id);
  api::HttpResponse list(const api::HttpRequest& request, const std::string& request_id);
  // Applies a Create or Update body to `m`.
  std::expected<void, api::ApiError> apply(const api::HttpRequest& request,
                                           const nlohmann::json& body, EventSourceMapping& m,
                                           bool creating);
  std::expected<void, common::StoreError> save(const EventSourceMapping& m);
  // Stores a created or updated mapping, wakes the poller, and answers 202 with `transition`
  // ("Creating", "Updating") as its State, or Disabled.
  api::HttpResponse keep(const EventSourceMapping& m, const std::string& transition,
                         const std::string& request_id);
  nlohmann::json mapping_json(const EventSourceMapping& m, const std::string& state) const
      REQUIRES(mu_);
  using SteadyClock = std::chrono::steady_clock;
  // What one look at a mapping did: whether it received or invoked anything, and when it wants to
  // be looked at again (its batching window's end) if that is before the next idle look.
  struct Look {
    bool worked = false;
    std::optional<SteadyClock::time_point> due;
  };
  // A batch gathered within a mapping's batching window: received, not yet invoked.
  struct Gathering {
    std::vector<QueueMessage> batch;
    SteadyClock::time_point opened;  // when its first message was received
  };
  void poll();
  // One step of `m`: unless its function is missing, receives what its queue has (up to a
  // batch), and invokes the function with the batch once it is full or its window has closed.
  Look look_at(const EventSourceMapping& m);
  bool function_exists(const EventSourceMapping& m);
  void run_batch(const EventSourceMapping& m, std::vector<QueueMessage> batch);
  void settle(const EventSourceMapping& m, const std::vector<QueueMessage>& batch,
              const api::InvokeResult& result);

  common::LambdaIdentity identity_;
  StateDb& db_;
  MessageQueues& queues_;
  api::FunctionApi& functions_;
  Controller& controller_;
  common::Mutex mu_;
  std::condition_variable_any wake_;
  std::map<std::string, EventSourceMapping> mappings_ GUARDED_BY(mu_);
  std::map<std::string, int> in_flight_ GUARDED_BY(mu_);            // batches per mapping
  std::map<std::string, Gathering> gathering_ GUARDED_BY(mu_);      // per mapping
  std::map<std::string, std::string> last_result_ GUARDED_BY(mu_);  // LastProcessingResult
  bool stopping_ GUARDED_BY(mu_) = false;
  bool sent_ GUARDED_BY(mu_) = false;  // a message was sent since the poller last looked
  std::thread poller_;
  boost::asio::thread_pool settlers_{2};  // deletes after a batch, off the io threads
};

}  // namespace runtimed
