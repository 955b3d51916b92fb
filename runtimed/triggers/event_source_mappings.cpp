// SQS event source mappings: the API, the poller and the SQS event (see event_source_mappings.hpp).
#include "runtimed/triggers/event_source_mappings.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <iterator>

#include "api/event_invoke_config_api.hpp"
#include "api/function_name.hpp"
#include "api/json_body.hpp"
#include "api/json_response.hpp"
#include "api/list_paging.hpp"
#include "common/account_scope.hpp"
#include "common/ids.hpp"
#include "runtimed/async/async_policy.hpp"

namespace runtimed {

namespace {

using api::ApiError;
using nlohmann::json;
using Clock = std::chrono::system_clock;

std::string md5_hex(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(text.data(), text.size(), digest, &n, EVP_md5(), nullptr);
  std::string out;
  for (unsigned int i = 0; i < n; ++i) out += fmt::format("{:02x}", digest[i]);
  return out;
}

ApiError mapping_not_found(const std::string& uuid) {
  return ApiError::not_found(
      "The resource you requested does not exist. (Service: Lambda, "
      "EventSourceMapping " +
      uuid + ")");
}

constexpr int kBatchesInFlight = 5;  // per mapping, as Lambda starts with five pollers
// How long an idle poller waits for news before it looks at the queues again anyway.
constexpr std::chrono::milliseconds kIdleLook{1000};

}  // namespace

json sqs_event(const std::vector<QueueMessage>& batch, const std::string& queue_arn,
               const std::string& region) {
  json records = json::array();
  for (const auto& m : batch) {
    json attributes = json::object();
    if (m.attributes.is_object()) {
      // SendMessage's {"Name": {"DataType", "StringValue"}} as Lambda's event spells it.
      for (const auto& [name, a] : m.attributes.items()) {
        attributes[name] = {{"stringValue", a.value("StringValue", "")},
                            {"stringListValues", json::array()},
                            {"binaryListValues", json::array()},
                            {"dataType", a.value("DataType", "String")}};
      }
    }
    records.push_back({{"messageId", m.message_id},
                       {"receiptHandle", m.receipt_handle},
                       {"body", m.body},
                       {"attributes",
                        {{"ApproximateReceiveCount", std::to_string(m.receive_count)},
                         {"SentTimestamp", std::to_string(m.sent_ms)},
                         {"SenderId", "runtimed"},
                         {"ApproximateFirstReceiveTimestamp", std::to_string(m.sent_ms)}}},
                       {"messageAttributes", attributes},
                       {"md5OfBody", md5_hex(m.body)},
                       {"eventSource", "aws:sqs"},
                       {"eventSourceARN", queue_arn},
                       {"awsRegion", region}});
  }
  return {{"Records", std::move(records)}};
}

std::optional<std::vector<std::string>> batch_item_failures(
    const std::string& answer, const std::vector<QueueMessage>& batch) {
  const json j = json::parse(answer, nullptr, false);
  // An empty answer, null, or an object without the list: nothing failed.
  if (answer.empty() || j.is_null()) return std::vector<std::string>{};
  if (!j.is_object()) return std::nullopt;
  if (!j.contains("batchItemFailures") || j["batchItemFailures"].is_null())
    return std::vector<std::string>{};
  if (!j["batchItemFailures"].is_array()) return std::nullopt;
  std::vector<std::string> ids;
  for (const auto& f : j["batchItemFailures"]) {
    if (!f.is_object() || !f.contains("itemIdentifier") || !f["itemIdentifier"].is_string() ||
        f["itemIdentifier"].get<std::string>().empty())
      return std::nullopt;
    const auto id = f["itemIdentifier"].get<std::string>();
    if (std::ranges::none_of(batch, [&](const QueueMessage& m) { return m.message_id == id; }))
      return std::nullopt;
    ids.push_back(id);
  }
  return ids;
}

EventSourceMappings::EventSourceMappings(common::LambdaIdentity identity, StateDb& db,
                                         MessageQueues& queues, api::FunctionApi& functions,
                                         Controller& controller)
    : identity_(std::move(identity)),
      db_(db),
      queues_(queues),
      functions_(functions),
      controller_(controller) {}

EventSourceMappings::~EventSourceMappings() {
  stop();
  settlers_.join();
}

std::expected<void, std::string> EventSourceMappings::start() {
  {
    common::MutexLock lock(mu_);
    auto db_lock = db_.lock();
    auto rows = db_.prepare("SELECT uuid, spec, function, queue FROM event_source_mappings");
    if (!rows) return std::unexpected(rows.error().message);
    while (true) {
      auto row = rows->step();
      if (!row) return std::unexpected(row.error().message);
      if (!*row) break;
      const json spec = json::parse(rows->column_text(1), nullptr, false);
      EventSourceMapping m;
      m.uuid = rows->column_text(0);
      m.function = rows->column_text(2);
      m.queue = rows->column_text(3);
      m.qualifier = spec.value("Qualifier", "");
      m.event_source_arn = spec.value("EventSourceArn", "");
      m.batch_size = spec.value("BatchSize", 10);
      m.batching_window_s = spec.value("MaximumBatchingWindowInSeconds", 0);
      m.enabled = spec.value("Enabled", true);
      m.report_batch_item_failures = spec.value("ReportBatchItemFailures", false);
      m.last_modified = spec.value("LastModified", 0.0);
      mappings_[m.uuid] = m;
    }
  }
  queues_.on_sent([this] {
    {
      common::MutexLock lock(mu_);
      sent_ = true;
    }
    wake_.notify_all();
  });
  poller_ = std::thread([this] { poll(); });
  return {};
}

void EventSourceMappings::stop() {
  queues_.on_sent(nullptr);  // before mu_: the hook takes mu_ under the queues' hook lock
  {
    common::MutexLock lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (poller_.joinable()) poller_.join();
}

void EventSourceMappings::drain() {
  {
    common::MutexLock lock(mu_);
    wake_.wait(lock, [this]() REQUIRES(mu_) {
      for (const auto& [uuid, n] : in_flight_)
        if (n > 0) return false;
      return true;
    });
  }
  settlers_.join();
}

void EventSourceMappings::poll() {
  common::MutexLock lock(mu_);
  while (!stopping_) {
    std::vector<EventSourceMapping> ready;
    for (const auto& [uuid, m] : mappings_)
      if (m.enabled && in_flight_[uuid] < kBatchesInFlight) ready.push_back(m);
    // A batch gathered for a mapping since deleted or disabled is let go: its messages reappear
    // after their visibility timeout, as after a crash.
    std::erase_if(gathering_, [this](const auto& g) REQUIRES(mu_) {
      const auto it = mappings_.find(g.first);
      return it == mappings_.end() || !it->second.enabled;
    });
    lock.unlock();
    bool any = false;
    auto next = SteadyClock::now() + kIdleLook;
    for (const auto& m : ready) {
      const Look look = look_at(m);
      any = look.worked || any;
      if (look.due) next = std::min(next, *look.due);
    }
    lock.lock();
    // Nothing to do: wait, as an SQS long poll would, until a message is sent, a batch settles, a
    // mapping changes or a batching window closes. The idle look finds what nothing announces: a
    // message visible again after its visibility timeout, one sent within another transaction
    // (an async destination), a deleted function created again.
    if (!any && !stopping_ && !sent_) wake_.wait_until(lock, next);
    sent_ = false;
  }
  // Stopping (before the controller drains): batches still gathering go to their functions as
  // they are, rather than waiting out their visibility timeout after the restart.
  std::vector<std::pair<EventSourceMapping, std::vector<QueueMessage>>> left;
  for (auto& [uuid, g] : gathering_)
    if (auto it = mappings_.find(uuid); it != mappings_.end() && it->second.enabled)
      left.emplace_back(it->second, std::move(g.batch));
  gathering_.clear();
  lock.unlock();
  for (auto& [m, batch] : left) run_batch(m, std::move(batch));
}

bool EventSourceMappings::function_exists(const EventSourceMapping& m) {
  api::QualifiedFunctionName name{.name = m.function};
  if (!m.qualifier.empty()) name.qualifier = m.qualifier;
  return functions_.configuration_of(name).has_value();
}

EventSourceMappings::Look EventSourceMappings::look_at(const EventSourceMapping& m) {
  // As on Lambda, deleting a function keeps its mappings, and a mapping whose function is gone
  // consumes nothing: no receive, so no receive count spent and nothing pushed to a DLQ.
  if (!function_exists(m)) {
    common::MutexLock lock(mu_);
    last_result_[m.uuid] = kFunctionNotFound;
    gathering_.erase(m.uuid);  // reappears after its visibility timeout
    return {};
  }
  std::vector<QueueMessage> batch;
  auto opened = SteadyClock::now();
  {
    common::MutexLock lock(mu_);
    if (auto it = last_result_.find(m.uuid);
        it != last_result_.end() && it->second == kFunctionNotFound)
      it->second = kNoRecordsProcessed;
    if (auto it = gathering_.find(m.uuid); it != gathering_.end()) {
      batch = std::move(it->second.batch);
      opened = it->second.opened;
      gathering_.erase(it);
    }
  }
  bool received = false;
  int visibility_s = 0;
  if (auto settings = queues_.settings(m.queue); settings) {
    visibility_s = settings->visibility_s;
    auto more = queues_.receive(m.queue, m.batch_size - static_cast<int>(batch.size()),
                                visibility_s, now_epoch_ms());
    if (more && !more->empty()) {
      received = true;
      for (auto& message : *more) {
        // Held past its visibility timeout and received again: the new receipt replaces the old,
        // which can no longer delete it.
        auto held = std::ranges::find(batch, message.message_id, &QueueMessage::message_id);
        if (held != batch.end())
          *held = std::move(message);
        else
          batch.push_back(std::move(message));
      }
    }
  }  // else the queue is gone; the mapping waits for it
  if (batch.empty()) return {};
  // The window opens with the batch's first message and closes when it is full or has passed;
  // the window of the mapping as it is now (an update that shortens it applies at once). It
  // closes early enough that the first message is still hidden when the function gets it (half
  // its visibility timeout), so a short timeout cannot hand one message out twice.
  const auto closes =
      opened + std::min<std::chrono::milliseconds>(std::chrono::seconds(m.batching_window_s),
                                                   std::chrono::milliseconds(visibility_s * 500));
  if (static_cast<int>(batch.size()) < m.batch_size && SteadyClock::now() < closes) {
    common::MutexLock lock(mu_);
    gathering_[m.uuid] = Gathering{.batch = std::move(batch), .opened = opened};
    return {.worked = received, .due = closes};
  }
  run_batch(m, std::move(batch));
  return {.worked = true};
}

void EventSourceMappings::run_batch(const EventSourceMapping& m, std::vector<QueueMessage> batch) {
  {
    common::MutexLock lock(mu_);
    ++in_flight_[m.uuid];
  }
  api::InvokeRequest request;
  request.function_name = m.function;
  if (!m.qualifier.empty()) request.qualifier = m.qualifier;
  request.payload = sqs_event(batch, queues_.queue_arn(m.queue), identity_.region).dump();
  auto messages = std::make_shared<std::vector<QueueMessage>>(std::move(batch));
  controller_.invoke(std::move(request), common::new_request_id(),
                     [this, m, messages](const api::InvokeResult& result) {
                       // Deleting touches SQLite: not on the io thread that answers.
                       boost::asio::post(settlers_, [this, m, messages, result] {
                         settle(m, *messages, result);
                         {
                           common::MutexLock lock(mu_);
                           --in_flight_[m.uuid];
                         }
                         wake_.notify_all();
                       });
                     });
}

void EventSourceMappings::settle(const EventSourceMapping& m,
                                 const std::vector<QueueMessage>& batch,
                                 const api::InvokeResult& result) {
  {
    common::MutexLock lock(mu_);
    last_result_[m.uuid] =
        result.api_error || result.function_error ? kFunctionCallFailed : kProcessingOk;
  }
  if (result.api_error || result.function_error) {
    // The whole batch failed: every message of it reappears after the visibility timeout.
    spdlog::info("event source mapping {}: batch of {} failed: {}", m.uuid, batch.size(),
                 result.api_error ? result.api_error->message : result.payload);
    return;
  }
  std::vector<std::string> failed;
  if (m.report_batch_item_failures) {
    auto reported = batch_item_failures(result.payload, batch);
    if (!reported) {
      spdlog::info("event source mapping {}: malformed batchItemFailures: the batch failed",
                   m.uuid);
      common::MutexLock lock(mu_);
      last_result_[m.uuid] = kFunctionCallFailed;
      return;
    }
    failed = std::move(*reported);
  }
  for (const auto& message : batch) {
    if (std::ranges::find(failed, message.message_id) != failed.end()) continue;
    if (auto ok = queues_.delete_message(m.queue, message.receipt_handle); !ok)
      spdlog::warn("event source mapping {}: deleting {}: {}", m.uuid, message.message_id,
                   ok.error().message);
  }
}

json EventSourceMappings::mapping_json(const EventSourceMapping& m,
                                       const std::string& state) const {
  std::string arn = functions_.function_arn(m.function);
  if (!m.qualifier.empty()) arn += ":" + m.qualifier;
  json out = {{"UUID", m.uuid},
              {"BatchSize", m.batch_size},
              {"MaximumBatchingWindowInSeconds", m.batching_window_s},
              {"EventSourceArn", m.event_source_arn},
              {"FunctionArn", arn},
              {"LastModified", m.last_modified},
              {"State", state.empty() ? (m.enabled ? "Enabled" : "Disabled") : state},
              {"StateTransitionReason", "USER_INITIATED"}};
  const auto result = last_result_.find(m.uuid);
  out["LastProcessingResult"] = result == last_result_.end() ? kNoRecordsProcessed : result->second;
  out["FunctionResponseTypes"] =
      m.report_batch_item_failures ? json::array({"ReportBatchItemFailures"}) : json::array();
  return out;
}

std::expected<void, common::StoreError> EventSourceMappings::save(const EventSourceMapping& m) {
  const json spec = {
      {"Qualifier", m.qualifier},       {"EventSourceArn", m.event_source_arn},
      {"BatchSize", m.batch_size},      {"MaximumBatchingWindowInSeconds", m.batching_window_s},
      {"Enabled", m.enabled},           {"ReportBatchItemFailures", m.report_batch_item_failures},
      {"LastModified", m.last_modified}};
  auto lock = db_.lock();
  auto stmt = db_.prepare(
      "INSERT INTO event_source_mappings (uuid, spec, function, queue) VALUES (?1, ?2, ?3, ?4) "
      "ON CONFLICT (uuid) DO UPDATE SET spec = excluded.spec, function = excluded.function, "
      "queue = excluded.queue");
  if (!stmt) return std::unexpected(stmt.error());
  return stmt->bind(1, m.uuid).bind(2, spec.dump()).bind(3, m.function).bind(4, m.queue).run();
}

std::expected<void, ApiError> EventSourceMappings::apply(const api::HttpRequest& request,
                                                         const json& body, EventSourceMapping& m,
                                                         bool creating) {
  if (creating) {
    auto arn = api::opt_string(body, "EventSourceArn");
    if (!arn) return std::unexpected(arn.error());
    auto queue = *arn ? sqs_queue_name(**arn) : std::nullopt;
    if (!queue)
      return std::unexpected(ApiError::invalid_parameter(
          "EventSourceArn must be a local queue's ARN (arn:aws:sqs:REGION:ACCOUNT:NAME): "
          "runtimed maps its own queues only"));
    const api::LambdaIdentity caller = api::caller_identity(identity_, request);
    if (!api::destination_in_account(**arn, caller.account_id))
      return std::unexpected(
          ApiError::invalid_parameter("EventSourceArn names another account's queue: " + **arn));
    m.queue = common::scoped_name(request.account, *queue);
    if (auto exists = queues_.settings(m.queue); !exists)
      return std::unexpected(
          ApiError::invalid_parameter("Error occurred while ReceiveMessage. SQS Error Code: "
                                      "AWS.SimpleQueueService.NonExistentQueue. The queue " +
                                      **arn + " does not exist"));
    m.event_source_arn = **arn;
  }
  auto function = api::opt_string(body, "FunctionName");
  if (!function) return std::unexpected(function.error());
  if (creating && !*function)
    return std::unexpected(ApiError::invalid_parameter("FunctionName is required"));
  if (*function) {
    auto resolved = api::resolve_for_caller(**function, "", request, identity_);
    if (!resolved) return std::unexpected(resolved.error());
    if (auto exists = functions_.configuration_of(*resolved); !exists)
      return std::unexpected(exists.error());
    m.function = resolved->name;
    m.qualifier = resolved->qualifier.value_or("");
  }
  auto batch = api::opt_int(body, "BatchSize");
  if (!batch) return std::unexpected(batch.error());
  auto window = api::opt_int(body, "MaximumBatchingWindowInSeconds");
  if (!window) return std::unexpected(window.error());
  if (*batch) m.batch_size = static_cast<int>(**batch);
  if (*window) m.batching_window_s = static_cast<int>(**window);
  if (m.batching_window_s < 0 || m.batching_window_s > 300)
    return std::unexpected(
        ApiError::invalid_parameter("MaximumBatchingWindowInSeconds must be 0-300"));
  if (m.batch_size < 1 || m.batch_size > 10000)
    return std::unexpected(ApiError::invalid_parameter("BatchSize must be 1-10000"));
  if (m.batch_size > 10 && m.batching_window_s < 1)
    return std::unexpected(ApiError::invalid_parameter(
        "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater "
        "than 10"));
  auto enabled = api::opt_bool(body, "Enabled");
  if (!enabled) return std::unexpected(enabled.error());
  if (*enabled) m.enabled = **enabled;
  if (body.contains("FunctionResponseTypes") && !body["FunctionResponseTypes"].is_null()) {
    const json& types = body["FunctionResponseTypes"];
    if (!types.is_array())
      return std::unexpected(api::wrong_type("FunctionResponseTypes", "a list"));
    m.report_batch_item_failures = false;
    for (const auto& t : types) {
      if (t != "ReportBatchItemFailures")
        return std::unexpected(ApiError::invalid_parameter(
            "FunctionResponseTypes takes ReportBatchItemFailures only"));
      m.report_batch_item_failures = true;
    }
  }
  m.last_modified = std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
  return {};
}

api::HttpResponse EventSourceMappings::handle(const api::HttpRequest& request,
                                              const std::string& uuid,
                                              const std::string& request_id) {
  const std::string& method = request.method;
  if (uuid.empty()) {
    if (method == "POST") return create(request, request_id);
    if (method == "GET") return list(request, request_id);
  } else {
    if (method == "PUT") return update(request, uuid, request_id);
    common::MutexLock lock(mu_);
    auto it = mappings_.find(uuid);
    if (it == mappings_.end() || !common::in_account(it->second.function, request.account))
      return api::to_http(mapping_not_found(uuid), request_id);
    if (method == "GET") return api::json_response(200, mapping_json(it->second, ""), request_id);
    if (method == "DELETE") {
      const EventSourceMapping gone = it->second;
      auto db_lock = db_.lock();
      auto stmt = db_.prepare("DELETE FROM event_source_mappings WHERE uuid = ?1");
      if (!stmt || !stmt->bind(1, uuid).run())
        return api::to_http(ApiError::service("Deleting the mapping failed"), request_id);
      json answer = mapping_json(gone, "Deleting");
      mappings_.erase(it);
      last_result_.erase(uuid);
      return api::json_response(202, answer, request_id);
    }
  }
  return api::to_http(
      ApiError::unknown_operation("Unknown operation: " + method + " " + request.path), request_id);
}

api::HttpResponse EventSourceMappings::create(const api::HttpRequest& request,
                                              const std::string& request_id) {
  auto body = api::parse_json_object_body(request);
  if (!body) return api::to_http(body.error(), request_id);
  EventSourceMapping m;
  m.uuid = common::new_request_id();
  if (auto ok = apply(request, *body, m, true); !ok) return api::to_http(ok.error(), request_id);
  return keep(m, "Creating", request_id);
}

api::HttpResponse EventSourceMappings::keep(const EventSourceMapping& m,
                                            const std::string& transition,
                                            const std::string& request_id) {
  json answer;
  {
    common::MutexLock lock(mu_);
    if (auto ok = save(m); !ok)
      return api::to_http(ApiError::service("Storing the mapping failed: " + ok.error().message),
                          request_id);
    mappings_[m.uuid] = m;
    answer = mapping_json(m, m.enabled ? transition : "Disabled");
  }
  wake_.notify_all();
  return api::json_response(202, answer, request_id);
}

api::HttpResponse EventSourceMappings::update(const api::HttpRequest& request,
                                              const std::string& uuid,
                                              const std::string& request_id) {
  auto body = api::parse_json_object_body(request);
  if (!body) return api::to_http(body.error(), request_id);
  EventSourceMapping m;
  {
    common::MutexLock lock(mu_);
    auto it = mappings_.find(uuid);
    if (it == mappings_.end() || !common::in_account(it->second.function, request.account))
      return api::to_http(mapping_not_found(uuid), request_id);
    m = it->second;
  }
  if (auto ok = apply(request, *body, m, false); !ok) return api::to_http(ok.error(), request_id);
  return keep(m, "Updating", request_id);
}

api::HttpResponse EventSourceMappings::list(const api::HttpRequest& request,
                                            const std::string& request_id) {
  std::optional<std::string> function;
  if (const std::string f = request.query_param("FunctionName"); !f.empty()) {
    auto resolved = api::resolve_for_caller(f, "", request, identity_);
    if (!resolved) return api::to_http(resolved.error(), request_id);
    function = resolved->name;
  }
  const std::string source = request.query_param("EventSourceArn");
  auto paging = api::parse_list_paging(request);
  if (!paging) return api::to_http(paging.error(), request_id);
  std::vector<json> items;
  {
    common::MutexLock lock(mu_);
    for (const auto& [uuid, m] : mappings_) {
      if (!common::in_account(m.function, request.account)) continue;
      if (function && m.function != *function) continue;
      if (!source.empty() && m.event_source_arn != source) continue;
      items.push_back(mapping_json(m, ""));
    }
  }
  auto page = api::index_page(*paging, items.size());
  if (!page) return api::to_http(page.error(), request_id);
  json out = json::array();
  for (size_t i = page->begin; i < page->end; ++i) out.push_back(items[i]);
  json body = {{"EventSourceMappings", std::move(out)}};
  if (page->next_marker) body["NextMarker"] = *page->next_marker;
  return api::json_response(200, body, request_id);
}

}  // namespace runtimed
