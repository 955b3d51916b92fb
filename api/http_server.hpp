// HTTP/1.1 server on Boost.Beast: one io_context per thread, listeners adopted from existing fds,
// each plain HTTP or HTTPS.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/http_types.hpp"

namespace boost::asio {
class io_context;
}

namespace api {

using ListenerId = uint64_t;
class TlsServerContext;

struct ListenerOptions {
  // Largest request body accepted; a larger one is answered by on_too_large.
  size_t body_limit = 6 * 1024 * 1024 + 100;
  // Optional per-request limit (at most body_limit), chosen from the request head (body empty)
  // and checked against Content-Length before any of the body is read; a chunked body is cut off
  // at it. Called on the connection's io thread.
  std::function<size_t(const HttpRequest& head)> body_limit_for;
  // Builds the answer to an oversized body from the request head (body empty). Called on the
  // connection's io thread; the connection is closed after the answer. Default: 413 JSON.
  std::function<HttpResponse(const HttpRequest& head)> on_too_large;
  // Largest request head (request line and headers). Runtime clients send X-Ray error causes of
  // up to 1 MiB in a header.
  size_t header_limit = 64 * 1024;
  // Open connections of this listener at most (0: no cap). At the cap the oldest idle
  // connection (waiting for a request, nothing received) is closed to make room; with none idle,
  // the listener stops accepting (new connections wait in the kernel's backlog) until one closes.
  size_t max_connections = 0;
  // A connection waiting for a request that has received nothing of it for this long is closed
  // (zero: never). Runtime listeners need zero: a runtime may sit between requests for as long as
  // it likes.
  std::chrono::milliseconds idle_timeout{0};
  // Once the first byte of a request has arrived, the whole request must arrive within this;
  // writing a response must also finish within it (zero: no limit). Bounds slowloris clients and
  // readers that never read. Checked by a sweep every kSweepPeriod, so it fires up to that late.
  std::chrono::milliseconds request_timeout{0};
  // Connections of this listener that may be receiving a request body at once (0: no cap); a
  // body beyond that is refused with 503. Bounds the memory of half-sent bodies to this many
  // times body_limit.
  size_t max_body_readers = 0;
  // Requests whose body the handler reads while it arrives (HttpRequest::body_reader): for such a
  // request head this answers the body's limit, and the handler is called as soon as the head is
  // in. nullopt (and the default): the body is read whole before the handler is called. Called on
  // the connection's io thread.
  std::function<std::optional<size_t>(const HttpRequest& head)> stream_body;
  // listen() only: spread accepted connections round-robin over all io threads (true), or keep
  // them on the listener's thread (false).
  bool spread_connections = true;
  // HTTPS when set: each connection's TLS handshake comes first and must finish within
  // request_timeout (else idle_timeout); the limits above apply to what is inside. Null: plain.
  std::shared_ptr<TlsServerContext> tls;
};

class HttpServer {
 public:
  // How often each io thread checks its connections' idle and request timeouts.
  static constexpr std::chrono::milliseconds kSweepPeriod{250};
  using Handler = std::function<void(HttpRequest&&, Reply)>;

  // Starts `threads` io threads (0 = one per CPU), each running its own io_context.
  // `idle_spin`: after running a handler, an io thread keeps polling for this long before it
  // sleeps in epoll_wait. On a VM a sleep and wake-up costs more than a short spin, and a warm
  // invocation is a chain of such wake-ups (docs/serving-model.md); zero never spins.
  explicit HttpServer(size_t threads = 0,
                      std::chrono::microseconds idle_spin = std::chrono::microseconds{0});
  ~HttpServer();  // stop(), then join
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Adopts a listening TCP socket (the server owns and closes it); its connections all run on
  // io thread `thread_index`. On failure the fd is closed.
  std::expected<ListenerId, std::string> add_listener(int listening_fd, Handler handler,
                                                      size_t thread_index,
                                                      ListenerOptions options = {});
  // Binds and listens on host:port (port 0 = any; see local_port()).
  std::expected<ListenerId, std::string> listen(const std::string& host, uint16_t port,
                                                Handler handler, ListenerOptions options = {});
  // The bound port of a listener, 0 if unknown.
  uint16_t local_port(ListenerId id) const;
  // Open connections of a listener (0 if unknown); any thread.
  size_t connection_count(ListenerId id) const;
  // Closes the acceptor and every open connection of the listener; any thread. Replies pending on
  // those connections become no-ops.
  void remove_listener(ListenerId id);
  // An HTTPS listener's new certificate and key (SIGHUP): connections accepted from now on use
  // them, open ones keep theirs. False when the listener is unknown or plain HTTP.
  bool replace_tls(ListenerId id, std::shared_ptr<TlsServerContext> tls);

  size_t thread_count() const;
  // The io thread index of the calling thread, or -1 when it is not one of this server's io
  // threads. Lets an Invoke handler pick an environment served on its own thread.
  long current_thread_index() const;
  // The calling io thread's io_context, or null when it is not one of this server's io threads:
  // for a handler's own asynchronous I/O (a forwarded invoke) without a hand-off to another thread.
  boost::asio::io_context* current_io_context() const;
  // Runs `fn` on io thread `thread_index` (modulo thread_count()). An exception escaping `fn` (or
  // any io-thread work) is logged and the thread goes on serving.
  void post(size_t thread_index, std::function<void()> fn);
  // Graceful: stops accepting, closes idle connections, lets in-flight requests finish for up to
  // `grace`, then closes the rest and joins the threads. Idempotent.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(5));

  struct Worker;
  struct Listener;
  class Connection;

 private:
  std::expected<ListenerId, std::string> start_listener(std::shared_ptr<Listener> listener);

  std::vector<std::unique_ptr<Worker>> workers_;
  mutable std::mutex mu_;
  std::unordered_map<ListenerId, std::shared_ptr<Listener>> listeners_;
  ListenerId next_id_ = 1;
  std::atomic<bool> stopped_{false};
};

}  // namespace api
