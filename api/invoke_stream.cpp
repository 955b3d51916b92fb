// InvokeWithResponseStream's answer (see invoke_stream.hpp).
#include "api/invoke_stream.hpp"

#include <nlohmann/json.hpp>

#include "api/event_stream.hpp"
#include "common/base64.hpp"

namespace api {
namespace {

HttpResponse stream_head(const std::string& request_id) {
  HttpResponse r;
  r.status = 200;
  r.set_header("x-amzn-RequestId", request_id);
  // ResponseStreamContentType: the event stream itself, as Lambda answers.
  r.set_header("Content-Type", "application/vnd.amazon.eventstream");
  return r;
}

}  // namespace

std::string payload_chunk_events(std::string_view bytes) {
  std::string events;
  while (!bytes.empty()) {
    const std::string_view part = bytes.substr(0, kMaxPayloadChunk);
    events += event_stream_event("PayloadChunk", "application/octet-stream", part);
    bytes.remove_prefix(part.size());
  }
  return events;
}

std::string invoke_complete_event(const InvokeResult& result, bool tail_log) {
  nlohmann::json complete = nlohmann::json::object();
  if (result.function_error) {
    const auto error = nlohmann::json::parse(result.payload, nullptr, false);
    const bool object = error.is_object();
    const auto text = [&](const char* key, const std::string& fallback) {
      return object && error.contains(key) && error[key].is_string() ? error[key].get<std::string>()
                                                                     : fallback;
    };
    complete["ErrorCode"] = text("errorType", "Unhandled");
    complete["ErrorDetails"] = text("errorMessage", result.payload);
  }
  if (tail_log) {
    std::string_view tail = result.log_tail;
    if (tail.size() > kLogTailBytes) tail = tail.substr(tail.size() - kLogTailBytes);
    complete["LogResult"] = common::base64_encode(tail);
  }
  return event_stream_event(
      "InvokeComplete", "application/json",
      complete.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

InvokeStreamResponse::InvokeStreamResponse(Reply reply, bool tail_log, std::string request_id)
    : tail_log_(tail_log), request_id_(std::move(request_id)), reply_(std::move(reply)) {}

void InvokeStreamResponse::begin(const std::string&, const std::string& executed_version) {
  Reply reply;
  {
    common::MutexLock lock(mu_);
    if (begun_ || completed_) return;
    begun_ = true;
    reply = std::move(reply_);
  }
  HttpResponse head = stream_head(request_id_);
  head.set_header("X-Amz-Executed-Version", executed_version);
  head.stream = body_;
  reply(std::move(head));
}

void InvokeStreamResponse::write(std::string piece) { body_->write(payload_chunk_events(piece)); }

size_t InvokeStreamResponse::backlog() const { return body_->backlog(); }

void InvokeStreamResponse::when_below(size_t low, std::function<void()> resume) {
  body_->when_below(low, std::move(resume));
}

void InvokeStreamResponse::complete(const InvokeResult& result) {
  Reply reply;
  {
    common::MutexLock lock(mu_);
    if (completed_) return;
    completed_ = true;
    if (begun_) {
      body_->write(invoke_complete_event(result, tail_log_));
      body_->finish();
      return;
    }
    reply = std::move(reply_);
  }
  if (result.api_error) return reply(to_http(*result.api_error, request_id_));
  if (result.status != 200) return reply(to_http(result, InvokeRequest{}, request_id_));
  // The function answered whole (or failed before it streamed): the same events, at once.
  HttpResponse whole = stream_head(request_id_);
  whole.set_header("X-Amz-Executed-Version", result.executed_version);
  if (!result.function_error) whole.body = payload_chunk_events(result.payload);
  whole.body += invoke_complete_event(result, tail_log_);
  reply(std::move(whole));
}

}  // namespace api
