// A RESPONSE_STREAM Function URL's answer: the function's streamed response is sent to the HTTP
// client as it arrives (chunked). A stream of Content-Type
// application/vnd.awslambda.http-integration-response starts with a JSON prelude (statusCode,
// headers, cookies) and 8 NUL bytes, as awslambda.HttpResponseStream.from writes it; the prelude
// becomes the response's status and headers, the rest its body. Any other stream is the body of
// a 200 with the stream's Content-Type.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "api/http_types.hpp"
#include "api/invoke_api.hpp"
#include "api/response_stream_sink.hpp"
#include "api/streamed_body.hpp"
#include "common/thread_annotations.hpp"

namespace runtimed {

inline constexpr std::string_view kHttpIntegrationResponse =
    "application/vnd.awslambda.http-integration-response";
// A prelude longer than this without its 8-NUL delimiter is malformed (502).
inline constexpr size_t kMaxPrelude = 64 * 1024;

class UrlResponseStream : public api::ResponseStreamSink {
 public:
  // `decorate` adds the front end's headers (request id, CORS) to the answer's head; `whole`
  // makes the answer of a function that did not stream (its result taken as BUFFERED would).
  UrlResponseStream(api::Reply reply, std::function<void(api::HttpResponse&)> decorate,
                    std::function<api::HttpResponse(const api::InvokeResult&)> whole);

  void begin(const std::string& content_type, const std::string& executed_version) override;
  void write(std::string piece) override;
  size_t backlog() const override;
  void when_below(size_t low, std::function<void()> resume) override;

  // The invocation's result (any thread, once): ends the body, or cuts the connection when the
  // function failed after its head was sent (the client sees an incomplete response).
  void complete(const api::InvokeResult& result);

 private:
  // Sends the head (status, headers) and starts the body; lock held, reply taken.
  api::Reply take_reply_locked() REQUIRES(mu_);

  const std::shared_ptr<api::StreamedBody> body_ = std::make_shared<api::StreamedBody>();
  const std::function<void(api::HttpResponse&)> decorate_;
  const std::function<api::HttpResponse(const api::InvokeResult&)> whole_;
  common::Mutex mu_;
  api::Reply reply_ GUARDED_BY(mu_);
  bool begun_ GUARDED_BY(mu_) = false;
  bool head_sent_ GUARDED_BY(mu_) = false;
  bool completed_ GUARDED_BY(mu_) = false;
  bool malformed_ GUARDED_BY(mu_) = false;
  // Reading the prelude of an http-integration-response stream: the bytes so far.
  bool in_prelude_ GUARDED_BY(mu_) = false;
  std::string prelude_ GUARDED_BY(mu_);
  std::string content_type_ GUARDED_BY(mu_);
};

// The head a prelude gives: its statusCode (200 when absent), headers and cookies (Set-Cookie).
// nullopt when it is not such a JSON object.
std::optional<api::HttpResponse> prelude_head(std::string_view prelude);

// A whole http-integration-response stream (gathered for a BUFFERED URL or an HTTP API route):
// the prelude's head with the rest as its body; nullopt when the prelude is malformed.
std::optional<api::HttpResponse> gathered_http_response(std::string_view stream);

}  // namespace runtimed
