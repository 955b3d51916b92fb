// The queue and async-backlog endpoints (see queue_routes.hpp).
#include "runtimed/async/queue_routes.hpp"

#include <fmt/format.h>

#include <charconv>
#include <nlohmann/json.hpp>
#include <vector>

#include "api/event_invoke_config_api.hpp"
#include "api/json_response.hpp"
#include "api/store_error_mapping.hpp"
#include "common/account_scope.hpp"
#include "runtimed/async/async_policy.hpp"

namespace runtimed {

using api::ApiError;
using nlohmann::json;

namespace {

using api::json_response;

constexpr std::string_view kQueues = "/runtimed/v1/queues";
constexpr std::string_view kFunctions = "/runtimed/v1/functions/";
constexpr std::string_view kAsync = "/async";

std::vector<std::string> segments_after(const std::string& path, std::string_view prefix) {
  std::vector<std::string> out;
  std::string_view rest = std::string_view(path).substr(prefix.size());
  while (!rest.empty()) {
    if (rest.front() == '/') rest.remove_prefix(1);
    const size_t slash = rest.find('/');
    out.emplace_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash);
  }
  return out;
}

std::expected<int, ApiError> int_param(const api::HttpRequest& request, const std::string& name,
                                       int fallback, int lo, int hi) {
  const std::string text = request.query_param(name);
  if (text.empty()) return fallback;
  int v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < lo || v > hi)
    return std::unexpected(ApiError::invalid_parameter(
        fmt::format("{} must be an integer from {} to {}", name, lo, hi)));
  return v;
}

}  // namespace

bool QueueRoutes::matches(const api::HttpRequest& request) {
  const std::string& p = request.path;
  if (p == kQueues || p.starts_with(std::string(kQueues) + "/")) return true;
  return p.starts_with(kFunctions) && p.ends_with(kAsync) &&
         p.size() > kFunctions.size() + kAsync.size();
}

api::HttpResponse QueueRoutes::handle(const api::HttpRequest& request,
                                      const std::string& request_id) {
  const std::string& m = request.method;
  if (request.path.starts_with(kFunctions)) {
    const std::string name = request.path.substr(
        kFunctions.size(), request.path.size() - kFunctions.size() - kAsync.size());
    if (m == "GET" && name.find('/') == std::string::npos)
      return backlog(common::scoped_name(request.account, name), request_id);
  } else {
    const auto seg = segments_after(request.path, kQueues);
    const auto now = now_epoch_ms();
    if (seg.empty() && m == "GET") {
      auto list = queues_.list(now);
      if (!list) return api::to_http(api::to_api_error(list.error()), request_id);
      json queues = json::array();
      for (const auto& q : *list) {
        if (!common::in_account(q.name, request.account)) continue;
        queues.push_back({{"Name", common::display_name(q.name)},
                          {"Arn", q.arn},
                          {"ApproximateNumberOfMessages", q.visible},
                          {"ApproximateNumberOfMessagesNotVisible", q.not_visible}});
      }
      return json_response(200, {{"Queues", queues}}, request_id);
    }
    if (!seg.empty() && !valid_queue_name(seg[0]))
      return api::to_http(ApiError::invalid_parameter("Invalid queue name: " + seg[0]), request_id);
    // The caller's own queue of that name (common/account_scope.hpp).
    const std::string queue = seg.empty() ? "" : common::scoped_name(request.account, seg[0]);
    if (seg.size() == 1 && m == "PUT") return put_queue(request, queue, request_id);
    if (seg.size() == 1 && m == "DELETE") {
      auto removed = queues_.remove_queue(queue);
      if (!removed) return api::to_http(api::to_api_error(removed.error()), request_id);
      if (!*removed)
        return api::to_http(ApiError::not_found("Queue not found: " + seg[0]), request_id);
      return api::no_content_response(request_id);
    }
    if (seg.size() == 2 && seg[1] == "messages" && m == "POST") {
      // SendMessage: the body is the message.
      if (auto exists = queues_.settings(queue); !exists)
        return api::to_http(api::to_api_error(exists.error()), request_id);
      if (auto ok = queues_.send(queue, request.body, json::object(), "", now); !ok)
        return api::to_http(api::to_api_error(ok.error()), request_id);
      return json_response(200, {{"QueueName", seg[0]}}, request_id);
    }
    if (seg.size() == 2 && seg[1] == "receive" && m == "POST") {
      auto max = int_param(request, "max", 1, 1, 10000);
      if (!max) return api::to_http(max.error(), request_id);
      auto visibility = int_param(request, "visibility", 30, 0, 43200);
      if (!visibility) return api::to_http(visibility.error(), request_id);
      auto got = queues_.receive(queue, *max, *visibility, now);
      if (!got) return api::to_http(api::to_api_error(got.error()), request_id);
      json messages = json::array();
      for (const auto& msg : *got)
        messages.push_back({{"MessageId", msg.message_id},
                            {"ReceiptHandle", msg.receipt_handle},
                            {"Body", msg.body},
                            {"MessageAttributes", msg.attributes},
                            {"Attributes",
                             {{"ApproximateReceiveCount", std::to_string(msg.receive_count)},
                              {"SentTimestamp", std::to_string(msg.sent_ms)}}}});
      return json_response(200, {{"Messages", messages}}, request_id);
    }
    if (seg.size() == 3 && seg[1] == "messages" && m == "DELETE") {
      if (auto ok = queues_.delete_message(queue, seg[2]); !ok)
        return api::to_http(api::to_api_error(ok.error()), request_id);
      return api::no_content_response(request_id);
    }
    if (seg.size() == 2 && seg[1] == "purge" && m == "POST") {
      auto n = queues_.purge(queue);
      if (!n) return api::to_http(api::to_api_error(n.error()), request_id);
      return json_response(200, {{"Purged", *n}}, request_id);
    }
    if (seg.size() == 2 && seg[1] == "redrive" && m == "POST") {
      auto n = dispatcher_.redrive(queue);
      if (!n) return api::to_http(api::to_api_error(n.error()), request_id);
      return json_response(200, {{"Redriven", *n}}, request_id);
    }
  }
  return api::to_http(ApiError::not_found("No route for " + m + " " + request.path), request_id);
}

api::HttpResponse QueueRoutes::put_queue(const api::HttpRequest& request, const std::string& queue,
                                         const std::string& request_id) {
  auto fail = [&](const ApiError& e) { return api::to_http(e, request_id); };
  QueueSettings settings;
  if (!request.body.empty()) {
    const json body = json::parse(request.body, nullptr, false);
    if (!body.is_object())
      return fail(ApiError::invalid_request_content("The body must be a JSON object"));
    if (body.contains("VisibilityTimeout")) {
      const json& v = body["VisibilityTimeout"];
      if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 43200)
        return fail(ApiError::invalid_parameter("VisibilityTimeout must be 0-43200 seconds"));
      settings.visibility_s = v.get<int>();
    }
    if (body.contains("RedrivePolicy") && !body["RedrivePolicy"].is_null()) {
      const json& r = body["RedrivePolicy"];
      const std::string target = r.is_object() ? r.value("deadLetterTargetArn", "") : "";
      auto dlq = sqs_queue_name(target);
      const json count = r.is_object() ? r.value("maxReceiveCount", json()) : json();
      if (!dlq || !count.is_number_integer() || count.get<int64_t>() < 1 ||
          count.get<int64_t>() > 1000)
        return fail(ApiError::invalid_parameter(
            "RedrivePolicy needs deadLetterTargetArn (a local queue's ARN) and maxReceiveCount "
            "(1-1000)"));
      if (!api::destination_in_account(target, common::account_of(identity_, queue)))
        return fail(ApiError::invalid_parameter(
            "The dead-letter queue must be in the queue's own account: " + target));
      settings.dead_letter_queue =
          common::scoped_name(common::split_scoped_name(queue).account, *dlq);
      settings.max_receive_count = count.get<int>();
    }
  }
  if (auto ok = queues_.put_queue(queue, settings, now_epoch_ms()); !ok)
    return fail(api::to_api_error(ok.error()));
  return json_response(200,
                       {{"QueueName", common::display_name(queue)},
                        {"QueueArn", queues_.queue_arn(queue)},
                        {"VisibilityTimeout", settings.visibility_s}},
                       request_id);
}

api::HttpResponse QueueRoutes::backlog(const std::string& function, const std::string& request_id) {
  if (auto config = catalog_.get(function); !config)
    return api::to_http(ApiError::not_found(common::function_not_found_message(
                            common::function_arn(identity_, function))),
                        request_id);
  auto b = events_.backlog(function);
  if (!b)
    return api::to_http(ApiError::service("Internal error reading the async queue"), request_id);
  json body = {{"FunctionName", common::display_name(function)},
               {"Queued", b->queued},
               {"InFlight", b->in_flight},
               {"Retrying", b->retrying}};
  if (b->oldest_enqueued_ms)
    body["OldestEventAgeMs"] = std::max<int64_t>(0, now_epoch_ms() - *b->oldest_enqueued_ms);
  return json_response(200, body, request_id);
}

}  // namespace runtimed
