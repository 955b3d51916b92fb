// Where one invocation's streamed response goes while its function still runs (the Runtime API's
// response mode "streaming"): an InvokeWithResponseStream caller or a RESPONSE_STREAM Function
// URL. The stream's end, and any error, arrive with the invocation's result
// (InvokeResult::streamed).
#pragma once

#include <cstddef>
#include <functional>
#include <string>

namespace api {

class ResponseStreamSink {
 public:
  virtual ~ResponseStreamSink() = default;
  // The runtime has begun its streamed response, with this Content-Type, running this version
  // of the function ("$LATEST" or a number). Once, before any write.
  virtual void begin(const std::string& content_type, const std::string& executed_version) = 0;
  // The next bytes of the response, in order.
  virtual void write(std::string piece) = 0;
  // Bytes written and not yet sent to the caller.
  virtual size_t backlog() const = 0;
  // Runs `resume` (on any thread) once the backlog is at most `low` bytes or the caller has gone;
  // at once when it already is. Lets the reader of a fast function wait for a slow caller.
  virtual void when_below(size_t low, std::function<void()> resume) = 0;
};

}  // namespace api
