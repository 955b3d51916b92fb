// The Invoke API's parsing and answers (see invoke_api.hpp).
#include "api/invoke_api.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "common/base64.hpp"

namespace api {

namespace {

constexpr std::string_view kPrefix = "/2015-03-31/functions/";
constexpr std::string_view kSuffix = "/invocations";
constexpr std::string_view kStreamPrefix = "/2021-11-15/functions/";
constexpr std::string_view kStreamSuffix = "/response-streaming-invocations";

bool is_path(const std::string& path, std::string_view prefix, std::string_view suffix) {
  return path.starts_with(prefix) && path.ends_with(suffix) &&
         path.size() > prefix.size() + suffix.size();
}

}  // namespace

bool is_invoke_path(const std::string& path) { return is_path(path, kPrefix, kSuffix); }

bool is_invoke_stream_path(const std::string& path) {
  return is_path(path, kStreamPrefix, kStreamSuffix);
}

std::expected<InvokeRequest, ApiError> parse_invoke_request(const HttpRequest& http,
                                                            const LambdaIdentity& identity) {
  InvokeRequest req;
  if (http.method != "POST") {
    return std::unexpected(ApiError::invalid_request_content("Invoke requires POST"));
  }
  // InvokeWithResponseStream: the same request, on its own path, synchronous or DryRun only.
  const bool streaming = is_invoke_stream_path(http.path);
  const std::string_view prefix = streaming ? kStreamPrefix : kPrefix;
  const std::string_view suffix = streaming ? kStreamSuffix : kSuffix;
  const std::string id =
      http.path.substr(prefix.size(), http.path.size() - prefix.size() - suffix.size());
  auto function = resolve_for_caller(id, http.query_param("Qualifier"), http, identity);
  if (!function) return std::unexpected(function.error());
  req.function_name = std::move(function->name);
  if (function->qualifier && *function->qualifier != "$LATEST")
    req.qualifier = std::move(function->qualifier);

  const std::string type = http.header("X-Amz-Invocation-Type", "RequestResponse");
  if (type == "RequestResponse") {
    req.type = InvocationType::RequestResponse;
  } else if (type == "Event" && !streaming) {
    req.type = InvocationType::Event;
  } else if (type == "DryRun") {
    req.type = InvocationType::DryRun;
  } else {
    return std::unexpected(ApiError::invalid_parameter(
        "1 validation error detected: Value '" + type +
        "' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: " +
        (streaming ? std::string("[RequestResponse, DryRun]")
                   : std::string("[Event, RequestResponse, DryRun]"))));
  }
  req.want_phases = http.header("X-Runtimed-Phases", "") == "1";
  const std::string log_type = http.header("X-Amz-Log-Type", "None");
  if (log_type == "Tail") {
    req.tail_log = req.type == InvocationType::RequestResponse;
  } else if (log_type != "None") {
    return std::unexpected(ApiError::invalid_parameter(
        "1 validation error detected: Value '" + log_type +
        "' at 'logType' failed to satisfy constraint: Member must satisfy enum value set: [Tail, "
        "None]"));
  }

  const size_t limit = req.type == InvocationType::Event ? kMaxAsyncPayload : kMaxSyncPayload;
  if (http.body.size() > limit) {
    return std::unexpected(ApiError::too_large(
        "Request must be smaller than " + std::to_string(limit) + " bytes for the " +
        (req.type == InvocationType::Event ? std::string("InvokeAsync")
         : streaming                       ? std::string("InvokeWithResponseStream")
                                           : std::string("Invoke")) +
        " operation"));
  }
  // An empty body is the event `{}`? No: Lambda passes an empty payload through as is; it is
  // only refused when it is present and not JSON.
  if (!http.body.empty() && !nlohmann::json::accept(http.body)) {
    return std::unexpected(
        ApiError::invalid_request_content("Could not parse request body into json: Could not parse "
                                          "payload into json: Unexpected character"));
  }
  req.payload = http.body.empty() ? "{}" : http.body;

  const std::string client_context = http.header("X-Amz-Client-Context");
  if (!client_context.empty()) {
    if (client_context.size() > kMaxClientContext) {
      return std::unexpected(ApiError::invalid_parameter(
          "Client context must be smaller than 3583 bytes (base64-encoded)"));
    }
    auto decoded = common::base64_decode(client_context);
    if (!decoded || !nlohmann::json::accept(*decoded)) {
      return std::unexpected(ApiError::invalid_parameter(
          "Client context must be a valid Base64-encoded JSON object."));
    }
    req.client_context = std::move(*decoded);
  }
  req.trace_id = http.header("X-Amzn-Trace-Id");
  return req;
}

HttpResponse to_http(const InvokeResult& result, const InvokeRequest& request,
                     const std::string& request_id) {
  if (result.api_error) {
    ApiError error = *result.api_error;
    return to_http(error, request_id);
  }
  HttpResponse r;
  r.status = result.status;
  r.set_header("x-amzn-RequestId", request_id);
  if (result.status == 200) {
    r.set_header("X-Amz-Executed-Version", result.executed_version);
    r.set_header("Content-Type",
                 result.content_type.empty() ? "application/json" : result.content_type);
    if (result.function_error) r.set_header("X-Amz-Function-Error", "Unhandled");
    if (!result.cold_start_phases.empty())
      r.set_header("X-Runtimed-Cold-Start-Phases", result.cold_start_phases);
    if (result.thaw_ms) r.set_header("X-Runtimed-Thawed", fmt::format("{:.2f}", *result.thaw_ms));
    if (request.tail_log) {
      std::string_view tail = result.log_tail;
      if (tail.size() > kLogTailBytes) tail = tail.substr(tail.size() - kLogTailBytes);
      r.set_header("X-Amz-Log-Result", common::base64_encode(tail));
    }
    r.body = result.payload;
  }
  return r;
}

ApiError ephemeral_storage_throttle() {
  return ApiError::too_many_requests(
      "Rate Exceeded. Not enough free disk on this host for another execution environment's /tmp "
      "(EphemeralStorage); retry later",
      "EphemeralStorageLimitExceeded");
}

std::string platform_error_payload(const std::string& error_type, const std::string& message) {
  return nlohmann::json{{"errorMessage", message}, {"errorType", error_type}}.dump();
}

}  // namespace api
