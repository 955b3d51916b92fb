// The Invoke API's edge: turns `POST /2015-03-31/functions/{name}/invocations` into a validated
// InvokeRequest (or Lambda's API error) and an InvokeResult into Lambda's HTTP answer.
#pragma once

#include <expected>
#include <memory>
#include <optional>
#include <string>

#include "api/function_name.hpp"
#include "api/http_types.hpp"
#include "api/lambda_error.hpp"
#include "api/response_stream_sink.hpp"

namespace api {

enum class InvocationType { RequestResponse, Event, DryRun };

inline constexpr size_t kMaxSyncPayload = 6 * 1024 * 1024;  // 6 MB request and response
inline constexpr size_t kMaxAsyncPayload = 1024 * 1024;     // Event: 1 MB
inline constexpr size_t kMaxClientContext = 3583;           // base64 bytes
inline constexpr size_t kLogTailBytes = 4096;

struct InvokeRequest {
  std::string function_name;  // resolved from a name or an ARN, without its qualifier
  // The version or alias invoked (from NAME:QUALIFIER, an ARN's or ?Qualifier=); nullopt for an
  // unqualified call, which runs $LATEST.
  std::optional<std::string> qualifier;
  InvocationType type = InvocationType::RequestResponse;
  bool tail_log = false;
  std::string payload;
  std::string client_context;  // decoded from X-Amz-Client-Context (base64), JSON text
  std::string trace_id;        // X-Amzn-Trace-Id
  // runtimed's own: `X-Runtimed-Phases: 1` asks a cold start's answer for its phases.
  bool want_phases = false;
  // InvokeWithResponseStream and RESPONSE_STREAM Function URLs: where a function's streamed
  // response goes while it runs (null: the response is taken whole).
  std::shared_ptr<ResponseStreamSink> stream_sink;
};

// What the controller answers an invocation with.
struct InvokeResult {
  std::optional<ApiError> api_error;  // the request itself failed (429, 404, ...)
  bool function_error = false;        // X-Amz-Function-Error: Unhandled
  std::string payload;                // the function's response, or its error object
  std::string content_type = "application/json";
  std::string log_tail;  // raw bytes; encoded by to_http when asked for
  int status = 200;      // 200 sync, 202 Event, 204 DryRun
  // A cold start's phases when asked for (InvokeRequest::want_phases), in milliseconds:
  // "launch=1.2;init=30.1;invoke=0.4", sent as X-Runtimed-Cold-Start-Phases.
  std::string cold_start_phases;
  // A warm invocation that first thawed its frozen environment, when asked for phases: how long
  // the thaw took, sent as X-Runtimed-Thawed (milliseconds).
  std::optional<double> thaw_ms;
  std::string executed_version = "$LATEST";  // X-Amz-Executed-Version
};

// True for the invocations path (any method: a wrong one is refused by parse).
bool is_invoke_path(const std::string& path);
// True for InvokeWithResponseStream's path,
// /2021-11-15/functions/{name}/response-streaming-invocations, which parse_invoke_request also
// takes (RequestResponse or DryRun).
bool is_invoke_stream_path(const std::string& path);

// Validates the request; `identity` is who this daemon is in the ARNs a FunctionName may be given
// as (resolve_function_name).
std::expected<InvokeRequest, ApiError> parse_invoke_request(const HttpRequest& request,
                                                            const LambdaIdentity& identity = {});

HttpResponse to_http(const InvokeResult& result, const InvokeRequest& request,
                     const std::string& request_id);

// The 429 a cold start is refused with when its /tmp would not fit on this host's disk
// (runtimed/store/disk_budget.hpp): TooManyRequestsException, Reason
// "EphemeralStorageLimitExceeded". SDKs retry a 429 with backoff, which is what a caller should do:
// idle environments retire or are evicted and give their /tmp back.
ApiError ephemeral_storage_throttle();

// Lambda's payload for an error the platform reports about a function (timeout, crash, ...).
std::string platform_error_payload(const std::string& error_type, const std::string& message);

}  // namespace api
