// InvokeWithResponseStream's answer (POST
// /2021-11-15/functions/{name}/response-streaming-invocations): a 200 whose body is an event stream
// of PayloadChunk events, each sent as the function streams it, ended by one InvokeComplete event
// that carries an error, if any, and the log tail.
#pragma once

#include <memory>
#include <string>

#include "api/http_types.hpp"
#include "api/invoke_api.hpp"
#include "api/response_stream_sink.hpp"
#include "api/streamed_body.hpp"
#include "common/thread_annotations.hpp"

namespace api {

// A PayloadChunk event carries at most this much of the response (SDKs' decoders cap a message).
inline constexpr size_t kMaxPayloadChunk = 256 * 1024;

class InvokeStreamResponse : public ResponseStreamSink {
 public:
  InvokeStreamResponse(Reply reply, bool tail_log, std::string request_id);

  // ResponseStreamSink, from the function's Runtime API endpoint: the 200 and its event stream
  // start at begin(), each write is one or more PayloadChunk events.
  void begin(const std::string& content_type, const std::string& executed_version) override;
  void write(std::string piece) override;
  size_t backlog() const override;
  void when_below(size_t low, std::function<void()> resume) override;

  // The invocation's result (any thread, once). After begin(): the InvokeComplete event ends the
  // stream. Before it (a runtime that answered whole, an error before the function streamed, a
  // refusal): the whole answer at once, in the same shape, or the API error.
  void complete(const InvokeResult& result);

 private:
  const std::shared_ptr<StreamedBody> body_ = std::make_shared<StreamedBody>();
  const bool tail_log_;
  const std::string request_id_;
  common::Mutex mu_;
  Reply reply_ GUARDED_BY(mu_);
  bool begun_ GUARDED_BY(mu_) = false;
  bool completed_ GUARDED_BY(mu_) = false;
};

// The InvokeComplete event for a result: ErrorCode (the error's errorType) and ErrorDetails (its
// errorMessage) for a function error, LogResult (base64, the last 4 KB) when asked for.
std::string invoke_complete_event(const InvokeResult& result, bool tail_log);

// PayloadChunk events carrying `bytes`, kMaxPayloadChunk at most each.
std::string payload_chunk_events(std::string_view bytes);

}  // namespace api
