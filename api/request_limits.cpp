// Per-route request body limits of the client API (see request_limits.hpp).
#include "api/request_limits.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "api/invoke_api.hpp"

namespace api {
namespace {

constexpr std::string_view kFunctions = "/2015-03-31/functions";
constexpr std::string_view kBenchReport = "/runtimed/v1/bench/report";

bool is_event_invoke(const HttpRequest& head) {
  return head.header("X-Amz-Invocation-Type") == "Event";
}

}  // namespace

RouteBodyLimit client_body_limit(const HttpRequest& head) {
  if (is_invoke_path(head.path)) {
    if (is_event_invoke(head)) return {kMaxEventInvokeRequest, "Invoke"};
    return {kMaxSyncInvokeRequest, "InvokeFunction"};
  }
  const std::string_view path = head.path;
  if (head.method == "POST" && (path == kFunctions || path == std::string(kFunctions) + "/"))
    return {kMaxCodeUploadRequest, "CreateFunction"};
  if (head.method == "PUT" && path.starts_with(kFunctions) && path.ends_with("/code"))
    return {kMaxCodeUploadRequest, "UpdateFunctionCode"};
  if (head.method == "POST" && path == kBenchReport) return {kMaxBenchReportRequest, ""};
  return {kMaxOtherRequest, ""};
}

HttpResponse request_entity_too_large(const HttpRequest& head, const std::string& request_id) {
  const RouteBodyLimit limit = client_body_limit(head);
  std::string message;
  if (is_invoke_path(head.path) && is_event_invoke(head)) {
    message = fmt::format(
        "{} byte payload is too large for the Event invocation type (limit {} "
        "bytes)",
        head.header("Content-Length", "?"), limit.bytes);
  } else if (!limit.operation.empty()) {
    message = fmt::format("Request must be smaller than {} bytes for the {} operation", limit.bytes,
                          limit.operation);
  } else {
    message = fmt::format("Request must be smaller than {} bytes", limit.bytes);
  }
  HttpResponse r;
  r.status = 413;
  r.set_header("Content-Type", "application/json");
  r.set_header("x-amzn-ErrorType", "RequestEntityTooLargeException");
  if (!request_id.empty()) r.set_header("x-amzn-RequestId", request_id);
  r.body = nlohmann::json{{"Type", "User"}, {"message", message}}.dump();
  return r;
}

}  // namespace api
