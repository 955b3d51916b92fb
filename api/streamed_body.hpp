// A response body sent while it is still being produced: producers on any thread append pieces,
// the HTTP server's connection writes them as chunks (Transfer-Encoding: chunked) as they come.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>

#include "common/thread_annotations.hpp"

namespace api {

class StreamedBody {
 public:
  // Producer side, any thread.
  // Appends a piece; false (the piece dropped) once the connection is gone.
  bool write(std::string piece);
  // The body is complete: the server ends it with the last chunk.
  void finish();
  // The body cannot be completed (the function failed mid-stream): after what is queued, the
  // server closes the connection without the last chunk, so the client sees it cut off.
  void fail();
  // Bytes written and not yet sent.
  size_t backlog() const;
  // Runs `resume` once the backlog has fallen to `low` bytes or the connection is gone: at once
  // when it already has, else on the connection's io thread. One waiter at a time (a newer
  // replaces an older).
  void when_below(size_t low, std::function<void()> resume);
  // Whether the connection that sent this body is gone (writes are dropped).
  bool abandoned() const;

  // Consumer side: the server's connection.
  struct Taken {
    std::string data;  // every piece queued, joined
    bool finished = false;
    bool failed = false;  // finished, but without the last chunk (fail())
  };
  // Takes what is queued. When nothing is and the body is not finished, `wake` is kept and called
  // (on the producer's thread) by the next write or finish instead.
  Taken take_or_wait(std::function<void()> wake);
  // `bytes` of what was taken have been written to the socket.
  void sent(size_t bytes);
  // The connection is gone: later writes are dropped, a waiting `when_below` runs.
  void abandon();

 private:
  void end(bool failed);

  mutable common::Mutex mu_;
  std::deque<std::string> pieces_ GUARDED_BY(mu_);
  size_t backlog_ GUARDED_BY(mu_) = 0;  // queued plus taken and not yet sent
  bool finished_ GUARDED_BY(mu_) = false;
  bool failed_ GUARDED_BY(mu_) = false;
  bool abandoned_ GUARDED_BY(mu_) = false;
  std::function<void()> wake_ GUARDED_BY(mu_);
  size_t low_ GUARDED_BY(mu_) = 0;
  std::function<void()> resume_ GUARDED_BY(mu_);
};

}  // namespace api
