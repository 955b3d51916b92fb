// The Lambda Runtime API (2018-06-01) served to one execution environment's runtime.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "api/http_server.hpp"
#include "api/response_stream_sink.hpp"

namespace api {

struct InvocationEvent {  // what /next hands out
  std::string request_id;
  int64_t deadline_ms = 0;  // epoch milliseconds
  std::string invoked_function_arn;
  std::string trace_id;          // "Root=…;Parent=…;Sampled=0"; header omitted when empty
  std::string client_context;    // decoded JSON text as Lambda passes it; omitted when empty
  std::string cognito_identity;  // omitted when empty
  std::string payload;           // the event body
  // Where a streamed response goes as it arrives; null: the caller takes the response whole (a
  // streamed one is gathered, up to the payload limit).
  std::shared_ptr<ResponseStreamSink> stream_sink;
  std::string executed_version = "$LATEST";  // the version the event runs, for the sink's begin
};

struct InvocationOutcome {
  enum class Kind { Response, FunctionError, ResponseTooLarge } kind = Kind::Response;
  std::string body;          // response payload, or the error JSON {errorMessage,errorType,...}
  std::string content_type;  // runtime's Content-Type for responses (empty if it sent none)
  std::string error_type;    // errors: normalised Lambda-Runtime-Function-Error-Type, see below
};

struct RuntimeApiCallbacks {            // called on the endpoint's io thread
  std::function<void()> on_first_next;  // init finished
  std::function<void(const std::string& request_id, InvocationOutcome)> on_outcome;
  std::function<void(InvocationOutcome)> on_init_error;  // POST /runtime/init/error
  // The runtime took this event (its /next was answered with it): the invocation has started.
  std::function<void(const std::string& request_id)> on_event_taken;
};

// RIE's rule for a runtime-reported error type: kept if it matches
// (Runtime|Function)\.[A-Z][a-zA-Z]+, else "Function.Unknown" for "Function.*", else
// "Runtime.Unknown".
std::string normalize_error_type(std::string_view type);

class RuntimeApiEndpoint {
 public:
  static constexpr size_t kMaxPayload = 6 * 1024 * 1024 + 100;  // RIE's limit
  // A streamed response: Lambda's limit (20 MB) for what a function streams to its caller.
  static constexpr size_t kMaxStreamedPayload = 20 * 1024 * 1024;
  // A streamed response is read on while at most this much waits for a slow caller, and resumed
  // once that has fallen to the low mark: what one stream holds in the daemon stays bounded.
  static constexpr size_t kStreamHighWater = 1024 * 1024;
  static constexpr size_t kStreamLowWater = 256 * 1024;
  // A runtime uses one or two connections; idle ones beyond this are closed to make room.
  static constexpr size_t kMaxConnections = 8;
  // Request bodies being received at once: one invocation's response or error, plus one of slack.
  static constexpr size_t kMaxBodyReaders = 2;
  // Request line and headers: aws-lambda-ric sends an X-Ray error cause of up to 1 MiB in a
  // header (larger ones it drops), plus 64 KiB for everything else.
  static constexpr size_t kMaxRequestHead = 1024 * 1024 + 64 * 1024;
  // A request the runtime has begun to send must arrive whole within this.
  static constexpr std::chrono::milliseconds kRequestTimeout{10'000};

  // Serves the Runtime API on `listening_fd` (owned, closed on failure), on io thread
  // `thread_index` of `server`, which must outlive the endpoint.
  static std::expected<std::unique_ptr<RuntimeApiEndpoint>, std::string> create(
      HttpServer& server, int listening_fd, size_t thread_index, RuntimeApiCallbacks callbacks,
      size_t max_payload = kMaxPayload);
  // As create(); throws std::runtime_error when the fd cannot be adopted.
  RuntimeApiEndpoint(HttpServer& server, int listening_fd, size_t thread_index,
                     RuntimeApiCallbacks callbacks, size_t max_payload = kMaxPayload);
  ~RuntimeApiEndpoint();
  RuntimeApiEndpoint(const RuntimeApiEndpoint&) = delete;
  RuntimeApiEndpoint& operator=(const RuntimeApiEndpoint&) = delete;

  // Any thread: served to the parked /next now, or to the next /next. One invocation at a time:
  // an event delivered while another is pending or outstanding is dropped (logged).
  void deliver(InvocationEvent event);
  // Any thread: removes the listener and drops its connections; idempotent. A callback already
  // that has already begun on the io thread may finish after close() returns.
  void close();
  size_t thread_index() const;
  // Any thread: how many events the runtime has taken with /next so far.
  uint64_t events_handed_out() const;

  struct Impl;

 private:
  explicit RuntimeApiEndpoint(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace api
