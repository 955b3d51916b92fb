// The async dispatcher (see async_dispatcher.hpp and docs/async.md).
#include "runtimed/async/async_dispatcher.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>

#include "common/account_scope.hpp"
#include "common/ids.hpp"
#include "common/module_logger.hpp"

namespace runtimed {

using Millis = std::chrono::milliseconds;

namespace {

// A function's response is any bytes: invalid UTF-8 in it is replaced, never thrown on (the
// event would otherwise be neither delivered nor settled).
std::string record_text(const DestinationRecord& r) {
  return destination_record(r).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::shared_ptr<spdlog::logger> log() {
  static const auto logger = common::module_logger("async");
  return logger;
}

}  // namespace

AsyncDispatcher::AsyncDispatcher(AsyncDispatcherOptions options, AsyncQueue& queue,
                                 MessageQueues& queues, Controller& controller,
                                 api::FunctionCatalog& catalog, FunctionSettings& settings,
                                 FunctionLogs& logs)
    : options_(std::move(options)),
      queue_(queue),
      queues_(queues),
      controller_(controller),
      catalog_(catalog),
      settings_(settings),
      logs_(logs),
      metrics_(options_.metrics ? *options_.metrics : own_metrics_, options_.metrics_function_limit,
               queue) {}

AsyncDispatcher::~AsyncDispatcher() {
  stop();
  join();
}

std::expected<void, std::string> AsyncDispatcher::start() {
  auto recovered =
      queue_.recover_in_flight(now_epoch_ms() + options_.policy.initial_backoff.count());
  // Shared (cluster mode), the database may be down at start: the loop recovers them later.
  if (!recovered && queue_.shared())
    log()->warn("recovering async events: {} (retrying)", recovered.error());
  else if (!recovered)
    return std::unexpected("recovering async events: " + recovered.error().message);
  else if (*recovered > 0)
    log()->warn("{} asynchronous attempt(s) were cut off by a daemon stop; queued again",
                *recovered);
  thread_ = std::thread([this] { loop(); });
  return {};
}

std::expected<void, common::StoreError> AsyncDispatcher::enqueue(const std::string& function,
                                                                 const std::string& payload,
                                                                 const std::string& request_id,
                                                                 const std::string& qualifier) {
  if (auto ok = queue_.enqueue(function, payload, request_id, now_epoch_ms(), qualifier); !ok)
    return ok;
  wake();
  return {};
}

std::expected<void, common::StoreError> AsyncDispatcher::enqueue_with(
    const StateDb::WriteWork& also, const std::string& function, const std::string& payload,
    const std::string& request_id, const std::string& qualifier) {
  const int64_t now = now_epoch_ms();
  if (auto ok = queue_.db().write([&]() -> std::expected<void, common::StoreError> {
        if (auto done = also(); !done) return done;
        return queue_.enqueue_locked(function, payload, request_id, now, qualifier);
      });
      !ok)
    return ok;
  wake();
  return {};
}

std::expected<int64_t, common::StoreError> AsyncDispatcher::redrive(const std::string& queue) {
  const int64_t now = now_epoch_ms();
  auto moved = queues_.drain_dead_letters(queue, [&](const QueueMessage& m) {
    return queue_.enqueue_locked(m.source_function, m.body, common::new_request_id(), now);
  });
  if (moved && *moved > 0) wake();
  return moved;
}

void AsyncDispatcher::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void AsyncDispatcher::join() { outcomes_.join(); }

void AsyncDispatcher::wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void AsyncDispatcher::loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    Millis sleep{1000};
    try {
      sleep = pump();
    } catch (const std::exception& e) {
      log()->error("async dispatch: {}", e.what());
    }
    lock.lock();
    cv_.wait_for(lock, sleep, [this] { return stopping_ || woken_; });
    woken_ = false;
  }
}

Millis AsyncDispatcher::pump() {
  const int64_t now = now_epoch_ms();
  if (queue_.shared() && now >= next_orphan_check_ms_) {
    // Events held by a node that died or lost its lease go back to the queue, for any node.
    next_orphan_check_ms_ = now + 500;
    auto recovered = queue_.recover_in_flight(now + options_.policy.initial_backoff.count());
    if (!recovered)
      log()->error("recovering async events of lost nodes: {}", recovered.error());
    else if (*recovered > 0)
      log()->warn("{} asynchronous attempt(s) held by a node no longer live; queued again",
                  *recovered);
  }
  auto due = queue_.due(now);
  if (!due) {
    log()->error("reading the async queue: {}", due.error());
    return Millis(1000);
  }
  bool waiting_for_capacity = false;
  for (const auto& [function, count] : *due) {
    // The function's existence and the oldest age any of its events may reach: $LATEST's config.
    auto config = settings_.get(function, "$LATEST");
    if (!config && config.error().kind != common::StoreErrorKind::NotFound) continue;
    const api::EventInvokeConfig cfg =
        config ? config->value_or(api::EventInvokeConfig{}) : api::EventInvokeConfig{};
    const int max_age = cfg.maximum_event_age_s.value_or(kDefaultMaximumEventAgeS);
    const auto reserved = controller_.reserved_concurrency(function);
    const bool gone = !config;
    const bool turned_off = reserved && *reserved == 0;
    int64_t room = 0;
    if (!gone && !turned_off) {
      const auto cap = controller_.capacity(function);
      std::lock_guard lock(mu_);
      // Our own attempts may not have reached admission yet; count whichever is larger.
      const size_t ours = in_flight_by_function_[function];
      const size_t busy = std::max(cap.busy, ours);
      const size_t global =
          options_.max_in_flight > in_flight_ ? options_.max_in_flight - in_flight_ : 0;
      room = static_cast<int64_t>(std::min(cap.limit > busy ? cap.limit - busy : 0, global));
      // A node holding no share of a split reservation (cluster mode) leaves the events to the
      // nodes that do: nothing to wait for here.
      if (room < count && cap.limit > 0) waiting_for_capacity = true;
    } else {
      room = count;  // every event ends now, none runs
    }
    auto claimed = queue_.claim(function, std::min(room, count), now, max_age,
                                /*count_attempt=*/!gone && !turned_off);
    if (!claimed) {
      log()->error("claiming async events of {}: {}", function, claimed.error());
      continue;
    }
    for (auto& event : *claimed) {
      if (gone) {
        log()->warn("dropping async event {}: function {} no longer exists", event.request_id,
                    function);
        settle(event, {});
      } else if (event.expired) {
        metrics_.expired(function);
        fail(event, FailureCondition::EventAgeExceeded, event.last_status ? event.last_status : 429,
             event.last_error.empty() ? "Event age exceeded before the event could run"
                                      : event.last_error,
             cfg);
      } else if (turned_off) {
        fail(event, FailureCondition::RetriesExhausted, 429,
             "Rate Exceeded. (ReservedFunctionConcurrentInvocationLimitExceeded: the function's "
             "reserved concurrency is 0)",
             cfg);
      } else {
        dispatch(std::move(event));
      }
    }
  }
  if (waiting_for_capacity) return Millis(50);
  // Shared: another node's enqueue wakes this one through the catalog listener (NOTIFY), and the
  // poll twice a second is the safety net (a listener reconnecting, a requeue's new due time).
  const int64_t longest = queue_.shared() ? 500 : 1000;
  auto next = queue_.next_due_ms();
  if (!next || !*next) return Millis(longest);
  return Millis(std::clamp<int64_t>(**next - now_epoch_ms(), 1, longest));
}

void AsyncDispatcher::dispatch(AsyncEvent event) {
  {
    std::lock_guard lock(mu_);
    ++in_flight_;
    ++in_flight_by_function_[event.function];
  }
  api::InvokeRequest request;
  request.function_name = event.function;
  if (!event.qualifier.empty()) request.qualifier = event.qualifier;
  request.payload = event.payload;
  const std::string request_id = event.request_id;  // Lambda keeps it across retries
  controller_.invoke(
      std::move(request), request_id, [this, event = std::move(event)](api::InvokeResult result) {
        boost::asio::post(outcomes_, [this, event, result = std::move(result)] {
          // An exception escaping a pool task would terminate the daemon.
          try {
            on_result(event, result);
          } catch (const std::exception& e) {
            log()->error("recording the outcome of event {}: {}", event.request_id, e.what());
          }
        });
      });
}

void AsyncDispatcher::on_result(const AsyncEvent& event, const api::InvokeResult& result) {
  bool stopping;
  {
    std::lock_guard lock(mu_);
    --in_flight_;
    if (--in_flight_by_function_[event.function] == 0) in_flight_by_function_.erase(event.function);
    stopping = stopping_;
  }
  wake();
  // The config of the qualifier the event was invoked with, as Lambda's: no fallback.
  auto config =
      settings_.get(event.function, event.qualifier.empty() ? "$LATEST" : event.qualifier);
  if (!config) {
    log()->warn("dropping async event {}: {}", event.request_id, config.error().message);
    settle(event, {});
    return;
  }
  const api::EventInvokeConfig cfg = config->value_or(api::EventInvokeConfig{});
  const int64_t now = now_epoch_ms();
  const int64_t expiry =
      expiry_ms(event.enqueued_ms, cfg.maximum_event_age_s.value_or(kDefaultMaximumEventAgeS));
  if (!result.api_error && !result.function_error)
    return succeed(event, result.payload, cfg, result.executed_version);
  if (result.function_error && !stopping) {
    const int errors = event.function_errors + 1;
    if (retries_exhausted(errors,
                          cfg.maximum_retry_attempts.value_or(kDefaultMaximumRetryAttempts)))
      return fail(event, FailureCondition::RetriesExhausted, 200, result.payload, cfg,
                  result.executed_version);
    const int64_t next = next_attempt_ms(now, retry_delay(options_.policy, errors), expiry);
    if (auto ok = queue_.requeue(event, next, true, 200, result.payload); !ok)
      log()->error("requeue {}: {}", event.request_id, ok.error());
    else
      metrics_.retry(event.function, "function_error");
    return;
  }
  const int status = result.api_error ? api::http_status(result.api_error->type) : 500;
  if (status != 429 && status < 500) {
    log()->warn("dropping async event {}: {}", event.request_id, result.api_error->message);
    settle(event, {});
    return;
  }
  // A throttle or a platform error: back off, spend no retry.
  const std::string error = result.api_error ? result.api_error->message : result.payload;
  const int64_t next =
      next_attempt_ms(now, throttle_backoff(options_.policy, event.throttles + 1), expiry);
  if (auto ok = queue_.requeue(event, next, false, status, error); !ok)
    log()->error("requeue {}: {}", event.request_id, ok.error());
  else
    metrics_.retry(event.function, status == 429 ? "throttled" : "platform_error");
}

std::vector<AsyncDispatcher::Delivery> AsyncDispatcher::deliveries_to(
    const std::string& function_name, const std::string& arn, const std::string& body,
    std::string_view destination) {
  // Within the function's own account: its configs can name no other (event_invoke_config_api).
  const std::string_view account = common::split_scoped_name(function_name).account;
  if (auto queue = sqs_queue_name(arn))
    return {Delivery{common::scoped_name(account, *queue), "", body, {}, "", destination}};
  if (auto function = lambda_function_name(arn))
    return {Delivery{"", common::scoped_name(account, *function), body, {}, "", destination}};
  log()->warn("cannot deliver to {}: not a local queue or function ARN", arn);
  return {};
}

void AsyncDispatcher::succeed(const AsyncEvent& event, const std::string& response,
                              const api::EventInvokeConfig& config,
                              const std::string& executed_version) {
  std::vector<Delivery> deliveries;
  if (config.on_success) {
    DestinationRecord r;
    r.request_id = event.request_id;
    r.function_arn = function_arn(options_.host, event.function);
    if (!event.qualifier.empty()) r.qualifier = event.qualifier;
    if (!executed_version.empty()) r.executed_version = executed_version;
    r.condition = "Success";
    r.approximate_invoke_count = event.invoke_count;
    r.request_payload = event.payload;
    r.response = response;
    r.timestamp = std::chrono::system_clock::now();
    deliveries = deliveries_to(event.function, *config.on_success, record_text(r), "on_success");
  }
  settle(event, deliveries);
}

void AsyncDispatcher::fail(const AsyncEvent& event, FailureCondition condition, int status,
                           const std::string& error, const api::EventInvokeConfig& config,
                           const std::string& executed_version) {
  std::vector<Delivery> deliveries;
  auto function = catalog_.get(event.function);
  if (function && function->dead_letter_target_arn) {
    if (auto queue = sqs_queue_name(*function->dead_letter_target_arn)) {
      deliveries.push_back(Delivery{
          common::scoped_name(common::split_scoped_name(event.function).account, *queue), "",
          event.payload, dead_letter_attributes(event.request_id, status, error_message_of(error)),
          event.function, "dead_letter_queue"});
    }
  }
  if (config.on_failure) {
    DestinationRecord r;
    r.request_id = event.request_id;
    r.function_arn = function_arn(options_.host, event.function);
    if (!event.qualifier.empty()) r.qualifier = event.qualifier;
    if (!executed_version.empty()) r.executed_version = executed_version;
    r.condition = std::string(condition_name(condition));
    r.approximate_invoke_count = event.invoke_count;
    r.request_payload = event.payload;
    r.status_code = status;
    r.function_error = status == 200;
    r.response = status == 200 ? error : "";
    r.timestamp = std::chrono::system_clock::now();
    auto more = deliveries_to(event.function, *config.on_failure, record_text(r), "on_failure");
    deliveries.insert(deliveries.end(), more.begin(), more.end());
  }
  if (deliveries.empty()) {
    // As Lambda: with nowhere to send it, a failed event is dropped.
    const std::string line = fmt::format(
        "runtimed: dropped asynchronous event RequestId: {} after {} attempt(s) ({}): {}\n",
        event.request_id, event.invoke_count, condition_name(condition),
        error_message_of(error).substr(0, kDeadLetterErrorMessageBytes));
    log()->warn("{}: {}", event.function, line.substr(0, line.size() - 1));
    logs_.get(event.function)->append(line);
  }
  settle(event, deliveries);
}

void AsyncDispatcher::settle(const AsyncEvent& event, const std::vector<Delivery>& deliveries) {
  auto& db = queue_.db();
  const int64_t now = now_epoch_ms();
  auto ok = db.write([&]() -> std::expected<void, common::StoreError> {
    for (const auto& d : deliveries) {
      auto delivered =
          d.queue.empty() ? queue_.enqueue_locked(d.function, d.body, common::new_request_id(), now)
                          : queues_.send_locked(
                                d.queue, d.body,
                                d.attributes.is_null() ? nlohmann::json::object() : d.attributes,
                                d.source_function, now);
      if (!delivered) return delivered;
    }
    return queue_.remove_locked(event);
  });
  // Left in flight, the event runs again after the next start (at least once); a lost claim
  // (cluster mode) is the node that took it over's to settle.
  if (!ok) {
    log()->error("settling async event {}: {}", event.request_id, ok.error());
    return;
  }
  for (const auto& d : deliveries) metrics_.destination_send(event.function, d.destination);
  if (!deliveries.empty()) wake();
}

}  // namespace runtimed
