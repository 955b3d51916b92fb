// HTTP/1.1 server on Boost.Beast: one io_context per thread, listeners adopted from existing fds,
// each plain HTTP or HTTPS.
#include "api/http_server.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cctype>
#include <condition_variable>
#include <cstring>
#include <map>
#include <optional>
#include <thread>
#include <unordered_set>

#include "api/lambda_error.hpp"
#include "api/percent_decode.hpp"
#include "api/streamed_body.hpp"
#include "api/tls_context.hpp"
#include "common/module_logger.hpp"

namespace api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
// TLS over the connection's own socket, so that closing, half-closing, idle checks and draining
// work on the socket alike for both kinds. Beast's wrapper coalesces a response's head and body
// into one TLS record.
using TlsStream = beast::ssl_stream<tcp::socket&>;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

namespace {

std::shared_ptr<spdlog::logger> log() {
  static const std::shared_ptr<spdlog::logger> logger = common::module_logger("http");
  return logger;
}

// Which server and io thread the calling thread runs (set once per io thread).
thread_local const void* t_server = nullptr;
thread_local long t_thread_index = -1;

constexpr size_t kDrainLimit = 64 * 1024 * 1024;
constexpr auto kDrainTimeout = std::chrono::seconds(5);
// A TLS connection that ends waits this long at most for the client's close_notify.
constexpr auto kTlsCloseTimeout = std::chrono::seconds(1);
constexpr std::string_view k100Continue = "HTTP/1.1 100 Continue\r\n\r\n";
// Beast reads at most the buffer's free room (512 bytes when it has none), and a buffer whose
// bytes the body parser takes at once never grows: a 1 MB body took 2,000 reads of 512 bytes.
// A body larger than kLargeBody (or chunked) is read with this much room, given back after it.
constexpr size_t kBodyReadRoom = 64 * 1024;
constexpr size_t kLargeBody = 8 * 1024;
// accept() failing (EMFILE, ENFILE, ENOBUFS): retry after a pause that doubles up to the maximum,
// so that a full fd table costs a few wake-ups a second instead of a spinning thread.
constexpr auto kAcceptBackoffMin = std::chrono::milliseconds(10);
constexpr auto kAcceptBackoffMax = std::chrono::milliseconds(200);
constexpr auto kAcceptErrorLogInterval = std::chrono::seconds(1);

// What a handler that threw answers: Lambda's ServiceException (the detail is only logged).
HttpResponse internal_error() {
  return to_http(ApiError::service("An internal error occurred while handling the request."), "");
}

HttpResponse default_too_large(const HttpRequest&) {
  HttpResponse r;
  r.status = 413;
  r.set_header("Content-Type", "application/json");
  r.body = R"({"errorMessage":"Request body too large","errorType":"RequestEntityTooLarge"})";
  return r;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

}  // namespace

struct HttpServer::Worker {
  asio::io_context ioc{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard{ioc.get_executor()};
  std::thread thread;
  // This thread's connections whose listener has timeouts, and the timer that checks them every
  // kSweepPeriod while there are any. One sweep per thread instead of a timer per connection:
  // arming and cancelling a timer on every request would cost the warm path.
  std::unordered_set<HttpServer::Connection*> timed;
  std::optional<asio::steady_timer> sweep_timer;
  bool sweeping = false;
};

struct HttpServer::Listener : std::enable_shared_from_this<HttpServer::Listener> {
  Listener(ListenerId id_, Handler h, ListenerOptions o, Worker& home_)
      : id(id_),
        handler(std::move(h)),
        options(std::move(o)),
        home(&home_),
        acceptor(home_.ioc),
        accept_retry(home_.ioc) {}

  ListenerId id;
  Handler handler;
  ListenerOptions options;  // options.tls: the context at start; `tls` below is the current one
  Worker* home;
  std::vector<Worker*> targets;  // where accepted connections go (round-robin); {home} if pinned
  size_t next_target = 0;        // home thread only
  tcp::acceptor acceptor;        // home thread only, after start
  uint16_t port = 0;
  const std::atomic<bool>* server_stopping = nullptr;

  // accept() errors, home thread only: the next retry's pause and the rate-limited report. The
  // timer exists beforehand: out of fds, creating one could fail.
  asio::steady_timer accept_retry;
  std::chrono::milliseconds accept_backoff{0};
  Clock::time_point last_accept_report{};
  uint64_t unreported_accept_errors = 0;

  std::mutex mu;
  std::shared_ptr<TlsServerContext> tls;  // null: plain HTTP; replaced by replace_tls()
  bool closed = false;
  bool paused = false;  // at max_connections: not accepting until a connection closes
  // Paused and a new connection is waiting in the backlog: idle connections give their place up.
  // Readable from connections without the lock.
  std::atomic<bool> at_cap{false};
  std::atomic<size_t> body_readers{0};  // connections reading a request body now
  uint64_t next_conn = 1;
  std::map<uint64_t, std::shared_ptr<Connection>> conns;  // by id: the oldest first
  std::condition_variable conns_gone;                     // notified when conns becomes empty

  bool timed() const {
    return options.idle_timeout.count() > 0 || options.request_timeout.count() > 0;
  }
  // A connection closed: drops it, and resumes accepting when that makes room under the cap.
  void forget(uint64_t conn_id);
};

// One accepted socket. Lives on one io_context; every member is touched only from its thread.
// The listener's map owns it while open; async operations and Replies hold references.
class HttpServer::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, std::shared_ptr<Listener> listener, uint64_t id, Worker& worker,
             std::shared_ptr<TlsServerContext> tls)
      : socket_(std::move(socket)),
        listener_(std::move(listener)),
        id_(id),
        worker_(worker),
        tls_context_(std::move(tls)) {
    error_code ec;
    const auto peer = socket_.remote_endpoint(ec);
    if (!ec) remote_address_ = peer.address().to_string();
    if (tls_context_) tls_ = std::make_unique<TlsStream>(socket_, tls_context_->context());
  }

  // On the connection's io thread.
  void start() {
    if (listener_->timed()) {
      worker_.timed.insert(this);
      start_sweep(worker_);
    }
    if (tls_) return handshake();
    read_header();
  }
  tcp::socket::executor_type executor() { return socket_.get_executor(); }

  void close() {
    if (state_ == State::Closed) return;
    state_ = State::Closed;
    error_code ec;
    socket_.close(ec);
    if (timer_) timer_->cancel();
    if (stream_) std::exchange(stream_, nullptr)->abandon();
    release_body_slot();
    worker_.timed.erase(this);
    listener_->forget(id_);
  }

  // Waiting for a request with nothing of it received, not even in the kernel's buffer.
  bool idle() {
    if (state_ != State::ReadingHeader || received_some()) return false;
    error_code ec;
    return socket_.available(ec) == 0 || ec;
  }
  // Makes room under the listener's cap: closes the connection if it is idle.
  bool close_if_idle() {
    if (!idle()) return false;
    log()->debug("connection {}: idle, closed to make room under the connection cap", id_);
    close();
    return true;
  }

  // Called by the io thread's sweep: closes the connection when its idle or request time is up.
  void check_timeouts(Clock::time_point now) {
    const auto& o = listener_->options;
    const bool request_limited = o.request_timeout.count() > 0;
    switch (state_) {
      case State::ReadingHeader:
        if (!request_started_ && received_some()) {
          // The first bytes of a request arrived since the last sweep.
          request_started_ = true;
          request_since_ = now;
        }
        if (!request_started_) {
          if (o.idle_timeout.count() > 0 && now - since_ >= o.idle_timeout) expire("idle");
        } else if (request_limited && now - request_since_ >= o.request_timeout) {
          expire("request head not complete");
        }
        return;
      case State::ReadingBody:
        if (request_limited && now - request_since_ >= o.request_timeout)
          expire("request body not complete");
        return;
      case State::Writing:
        if (request_limited && now - since_ >= o.request_timeout) expire("response not read");
        return;
      case State::Streaming:
        // Waiting for the producer is not timed (a function may stream for minutes); a chunk
        // the client does not read is.
        if (stream_writing_ && request_limited && now - since_ >= o.request_timeout)
          expire("streamed response not read");
        return;
      case State::Handshaking: {
        // A client that connects and never finishes its handshake holds a connection (and the
        // handshake's memory): it gets the time of a request.
        const auto limit = request_limited ? o.request_timeout : o.idle_timeout;
        if (limit.count() > 0 && now - since_ >= limit) expire("TLS handshake not complete");
        return;
      }
      default:
        return;
    }
  }

  // Bytes of the next request arrived (the parser consumes a start line as soon as it is whole);
  // over TLS also bytes still inside OpenSSL (read from the socket, not yet decrypted or read).
  bool received_some() {
    if (buffer_.size() > 0 || (parser_ && parser_->got_some())) return true;
    return tls_ && tls_pending();
  }

  void expire(const char* why) {
    log()->debug("connection {}: timed out: {}", id_, why);
    close();
  }

  static void start_sweep(Worker& w) {
    if (w.sweeping) return;
    w.sweeping = true;
    if (!w.sweep_timer) w.sweep_timer.emplace(w.ioc);
    w.sweep_timer->expires_after(kSweepPeriod);
    w.sweep_timer->async_wait([&w](error_code ec) {
      w.sweeping = false;
      if (ec) return;
      const auto now = Clock::now();
      // check_timeouts may close (and unregister) a connection: walk a copy, holding each alive.
      std::vector<std::shared_ptr<Connection>> conns;
      conns.reserve(w.timed.size());
      for (Connection* c : w.timed) conns.push_back(c->shared_from_this());
      for (auto& c : conns) c->check_timeouts(now);
      if (!w.timed.empty()) start_sweep(w);
    });
  }

  // Server stop: an idle connection closes now, a busy one after its current response.
  void shutdown_when_idle() {
    if (state_ == State::ReadingHeader || state_ == State::Handshaking) close();
  }

 private:
  enum class State {
    Handshaking,
    ReadingHeader,
    ReadingBody,
    Handling,
    Writing,
    Streaming,
    Draining,
    ClosingTls,
    Closed
  };

  // Runs `op` on the connection's stream: the socket, or TLS over it. The one branch is all the
  // plain path pays for HTTPS.
  template <class Op>
  void with_stream(Op&& op) {
    if (tls_) {
      op(*tls_);
    } else {
      op(socket_);
    }
  }

  bool tls_pending() {
    SSL* ssl = tls_->native_handle();
    return SSL_has_pending(ssl) == 1 || BIO_ctrl_pending(SSL_get_rbio(ssl)) > 0;
  }

  void handshake() {
    state_ = State::Handshaking;
    if (listener_->timed()) since_ = Clock::now();
    tls_->async_handshake(TlsStream::server, [self = shared_from_this()](error_code ec) {
      if (self->state_ == State::Closed) return;
      if (ec) {
        // A plain-HTTP client, a protocol version below 1.2, a client that gave up: all common
        // enough that the log says it at debug level only.
        log()->debug("connection {}: TLS handshake: {}", self->id_, ec.message());
        return self->close();
      }
      self->read_header();
    });
  }

  void arm_timer(std::chrono::milliseconds timeout) {
    if (timeout.count() <= 0) return;
    if (!timer_) timer_.emplace(socket_.get_executor());
    timer_->expires_after(timeout);
    timer_->async_wait([weak = weak_from_this()](error_code ec) {
      if (ec) return;
      if (auto self = weak.lock()) self->close();
    });
  }

  void read_header() {
    state_ = State::ReadingHeader;
    if (listener_->at_cap.load(std::memory_order_relaxed) && idle()) {
      // Connections are waiting for room under the cap: a keep-alive connection that has nothing
      // more to send gives its place up (HTTP lets a server close an idle connection).
      return close();
    }
    if (listener_->timed()) {
      since_ = Clock::now();
      request_started_ = false;
    }
    streamed_body_ = body_streaming_ = body_abandoned_ = false;
    // Until a head says HEAD: an answer to a request refused unparsed carries its body.
    head_request_ = false;
    parser_.emplace();
    parser_->body_limit(listener_->options.body_limit);
    parser_->header_limit(static_cast<uint32_t>(listener_->options.header_limit));
    with_stream([&](auto& stream) {
      http::async_read_header(
          stream, buffer_, *parser_,
          [self = shared_from_this()](error_code ec, size_t) { self->on_header(ec); });
    });
  }

  void on_header(error_code ec) {
    if (state_ == State::Closed) return;
    if (ec == http::error::body_limit) return too_large();
    if (ec == http::error::header_limit) return refuse(431, "Request header fields too large");
    if (ec) {
      if (ec != http::error::end_of_stream && ec != asio::error::operation_aborted)
        log()->debug("connection {}: read header: {}", id_, ec.message());
      return close();
    }
    if (listener_->server_stopping->load(std::memory_order_relaxed)) keep_alive_override_ = false;
    request_ = request_head();
    head_request_ = request_.method == "HEAD";
    streamed_body_ = false;
    if (const auto& stream_for = listener_->options.stream_body) {
      if (auto limit = stream_for(request_)) {
        streamed_body_ = true;
        parser_->body_limit(*limit);
      }
    }
    if (const auto& limit_for = listener_->options.body_limit_for; limit_for && !streamed_body_) {
      // The route's limit, from the head: an oversized body is refused before it is read.
      const size_t limit = std::min(limit_for(request_), listener_->options.body_limit);
      const auto length = parser_->content_length();
      if (length && *length > limit) return too_large();
      parser_->body_limit(limit);  // a chunked body is cut off at the route's limit
    }
    const auto& req = parser_->get();
    const auto expect = req[http::field::expect];
    if (!parser_->is_done() &&
        iequals(std::string_view(expect.data(), expect.size()), "100-continue")) {
      // Beast does not answer Expect: the client waits (curl: 1 s) unless told to go on.
      state_ = State::Writing;
      with_stream([&](auto& stream) {
        asio::async_write(stream, asio::buffer(k100Continue.data(), k100Continue.size()),
                          [self = shared_from_this()](error_code wec, size_t) {
                            if (wec) return self->close();
                            self->read_body();
                          });
      });
      return;
    }
    read_body();
  }

  void read_body() {
    if (state_ == State::Closed) return;
    if (!parser_->is_done()) make_read_room();
    if (streamed_body_) return dispatch_streamed();
    if (parser_->is_done()) return dispatch_request();
    if (!take_body_slot()) {
      // A runtime sends one body at a time; more at once only pile up in the daemon's memory.
      return refuse(503, "Too many request bodies in flight on this endpoint");
    }
    state_ = State::ReadingBody;
    if (listener_->timed() && !request_started_) {
      request_started_ = true;
      request_since_ = Clock::now();
    }
    with_stream([&](auto& stream) {
      http::async_read(stream, buffer_, *parser_,
                       [self = shared_from_this()](error_code ec, size_t) {
                         if (self->state_ == State::Closed) return;
                         self->release_body_slot();
                         if (ec == http::error::body_limit) return self->too_large();
                         if (ec) return self->close();
                         self->dispatch_request();
                       });
    });
  }

  void make_read_room() {
    const auto length = parser_->content_length();
    if ((!length || *length > kLargeBody) && buffer_.capacity() < kBodyReadRoom)
      buffer_.reserve(kBodyReadRoom);
  }
  // After a large body: the idle connection keeps no 64 KiB buffer.
  void give_back_read_room() {
    if (buffer_.capacity() >= kBodyReadRoom && buffer_.size() == 0) buffer_.shrink_to_fit();
  }

  bool take_body_slot() {
    const size_t max = listener_->options.max_body_readers;
    if (max == 0) return true;
    if (listener_->body_readers.fetch_add(1, std::memory_order_relaxed) >= max) {
      listener_->body_readers.fetch_sub(1, std::memory_order_relaxed);
      return false;
    }
    body_slot_ = true;
    return true;
  }
  void release_body_slot() {
    if (!body_slot_) return;
    body_slot_ = false;
    listener_->body_readers.fetch_sub(1, std::memory_order_relaxed);
  }

  HttpRequest request_head() {
    const auto& req = parser_->get();
    HttpRequest out;
    out.method = std::string(req.method_string());
    const std::string_view target(req.target().data(), req.target().size());
    const size_t q = target.find('?');
    out.raw_path = std::string(target.substr(0, q));
    out.path = percent_decode(out.raw_path);
    if (q != std::string_view::npos) {
      out.raw_query = std::string(target.substr(q + 1));
      out.query = parse_query(out.raw_query);
    }
    out.remote_address = remote_address_;
    out.version = req.version();
    for (const auto& field : req) {
      out.headers.emplace(std::string(field.name_string()), std::string(field.value()));
    }
    return out;
  }

  void dispatch_request() {
    HttpRequest request = std::move(request_);
    request_ = {};
    request.body = std::move(parser_->get().body());
    keep_alive_ = parser_->get().keep_alive();
    version_ = parser_->get().version();
    parser_.reset();
    give_back_read_room();
    call_handler(std::move(request));
  }

  // The handler gets the head now and reads the body itself (ListenerOptions::stream_body).
  void dispatch_streamed() {
    if (!take_body_slot()) {
      return refuse(503, "Too many request bodies in flight on this endpoint");
    }
    HttpRequest request = std::move(request_);
    request_ = {};
    head_fields_ = static_cast<size_t>(
        std::distance(parser_->get().base().begin(), parser_->get().base().end()));
    keep_alive_ = parser_->get().keep_alive();
    version_ = parser_->get().version();
    body_streaming_ = true;
    request.body_reader = std::make_shared<StreamedRequestBody>(weak_from_this());
    call_handler(std::move(request));
  }

  void call_handler(HttpRequest request) {
    state_ = State::Handling;
    const uint64_t seq = ++seq_;
    Reply reply = [weak = weak_from_this(), seq](HttpResponse response) {
      auto self = weak.lock();
      if (!self) return;
      auto executor = self->socket_.get_executor();
      // Inline when already on the connection's thread; otherwise queued to it.
      asio::dispatch(executor, [self = std::move(self), seq, r = std::move(response)]() mutable {
        self->on_reply(seq, std::move(r));
      });
    };
    log()->debug("connection {}: {} {}", id_, request.method, request.path);
    try {
      listener_->handler(std::move(request), std::move(reply));
    } catch (const std::exception& e) {
      log()->error("connection {}: handler threw: {}", id_, e.what());
      on_reply(seq, internal_error());  // a no-op when the handler already replied
    } catch (...) {
      log()->error("connection {}: handler threw a non-standard exception", id_);
      on_reply(seq, internal_error());
    }
  }

 public:
  // The next piece of a streamed request body (BodyReader::read), on the connection's thread.
  void read_body_piece(std::function<void(BodyReader::Piece)> on_piece) {
    BodyReader::Piece piece;
    if (state_ == State::Closed || !body_streaming_ || body_abandoned_) {
      piece.failed = true;
      return on_piece(std::move(piece));
    }
    if (!parser_->get().body().empty() || parser_->is_done()) return deliver_piece(on_piece);
    with_stream([&](auto& stream) {
      http::async_read_some(
          stream, buffer_, *parser_,
          [self = shared_from_this(), on_piece = std::move(on_piece)](error_code ec,
                                                                      size_t) mutable {
            if (self->body_abandoned_) return;  // answered meanwhile: the reader is done
            if (self->state_ == State::Closed || (ec && ec != http::error::body_limit)) {
              self->close();
              return on_piece(BodyReader::Piece{.failed = true});
            }
            if (ec == http::error::body_limit) {
              // The handler answers; nothing more of this body is read.
              self->body_abandoned_ = true;
              return on_piece(BodyReader::Piece{.failed = true, .too_large = true});
            }
            if (self->parser_->get().body().empty() && !self->parser_->is_done())
              return self->read_body_piece(std::move(on_piece));
            self->deliver_piece(on_piece);
          });
    });
  }

 private:
  void deliver_piece(const std::function<void(BodyReader::Piece)>& on_piece) {
    BodyReader::Piece piece;
    piece.data = std::move(parser_->get().body());
    parser_->get().body().clear();
    if (parser_->is_done()) {
      // Trailer fields are added to the message after its head's.
      piece.last = true;
      size_t i = 0;
      for (const auto& field : parser_->get()) {
        if (i++ >= head_fields_)
          piece.trailers.emplace(std::string(field.name_string()), std::string(field.value()));
      }
      keep_alive_ = parser_->get().keep_alive();
      body_streaming_ = false;
      parser_.reset();
      release_body_slot();
      give_back_read_room();
    }
    on_piece(std::move(piece));
  }

  // BodyReader for a streamed request: reads through the connection, if it still exists.
  class StreamedRequestBody : public BodyReader {
   public:
    explicit StreamedRequestBody(std::weak_ptr<Connection> conn) : conn_(std::move(conn)) {}
    void read(std::function<void(Piece)> on_piece) override {
      auto conn = conn_.lock();
      if (!conn) return on_piece(Piece{.failed = true});
      asio::dispatch(conn->executor(), [conn, on_piece = std::move(on_piece)]() mutable {
        conn->read_body_piece(std::move(on_piece));
      });
    }

   private:
    std::weak_ptr<Connection> conn_;
  };

  void on_reply(uint64_t seq, HttpResponse r) {
    if (state_ != State::Handling || seq != seq_) return;  // closed, or a second call
    bool keep = keep_alive_ && keep_alive_override_ && !listener_->server_stopping->load();
    if (body_streaming_) {
      // Answered before its streamed body ended: the rest is not read, so the connection ends
      // after this answer. A read in flight finishes unheard.
      body_abandoned_ = true;
      keep = false;
    }
    if (r.stream) return write_streamed(std::move(r), keep);
    write(std::move(r), keep, State::Writing);
  }

  void write(HttpResponse r, bool keep_alive, State next) {
    state_ = next;
    if (listener_->timed()) since_ = Clock::now();
    response_ = {};
    response_.version(version_);
    response_.result(r.status);
    for (auto& [name, value] : r.headers) response_.insert(name, value);
    response_.body() = std::move(r.body);
    response_.keep_alive(keep_alive);
    response_.prepare_payload();
    // The answer to HEAD is the head a GET would get: its Content-Length, without the body.
    if (head_request_) response_.body().clear();
    with_stream([&](auto& stream) {
      http::async_write(stream, response_, [self = shared_from_this()](error_code ec, size_t) {
        if (self->state_ == State::Closed) return;
        if (ec) return self->close();
        if (self->state_ == State::Draining) return self->drain();
        self->after_response(self->response_.keep_alive());
      });
    });
  }

  // The response is out: the next request, or the end of the connection.
  void after_response(bool keep_alive) {
    if (!keep_alive) {
      if (tls_) return close_tls();
      error_code ignored;
      socket_.shutdown(tcp::socket::shutdown_send, ignored);
      return close();
    }
    read_header();
  }

  // A response whose body is produced while it is sent: the head now (chunked), then each piece
  // the producer writes, as it comes. An HTTP/1.0 client knows no chunks: its body is the bytes
  // themselves, ended by closing the connection.
  void write_streamed(HttpResponse r, bool keep_alive) {
    state_ = State::Streaming;
    if (listener_->timed()) since_ = Clock::now();
    stream_ = std::move(r.stream);
    stream_unframed_ = version_ < 11;
    stream_head_.emplace();
    stream_head_->version(version_);
    stream_head_->result(r.status);
    for (auto& [name, value] : r.headers) stream_head_->insert(name, value);
    stream_head_->keep_alive(keep_alive && !stream_unframed_);
    if (!stream_unframed_) stream_head_->chunked(true);
    stream_serializer_.emplace(*stream_head_);
    stream_writing_ = true;
    with_stream([&](auto& stream) {
      http::async_write_header(stream, *stream_serializer_,
                               [self = shared_from_this()](error_code ec, size_t) {
                                 if (self->state_ == State::Closed) return;
                                 self->stream_writing_ = false;
                                 if (ec) return self->close();
                                 if (self->head_request_) return self->end_head_only_stream();
                                 self->stream_next();
                               });
    });
  }

  // HEAD: the head is the whole answer; what the producer streams is dropped.
  void end_head_only_stream() {
    std::exchange(stream_, nullptr)->abandon();
    stream_serializer_.reset();
    const bool keep = stream_head_->keep_alive() && !stream_unframed_;
    stream_head_.reset();
    after_response(keep);
  }

  void stream_next() {
    if (state_ != State::Streaming) return;
    auto taken = stream_->take_or_wait([weak = weak_from_this(), executor = executor()] {
      asio::post(executor, [weak] {
        if (auto self = weak.lock()) self->stream_next();
      });
    });
    if (taken.data.empty() && !taken.finished) return;  // woken by the next write or finish
    stream_out_ = std::move(taken.data);
    const bool last = taken.finished;
    if (taken.failed && stream_out_.empty()) return close();  // cut off: no last chunk
    if (listener_->timed()) since_ = Clock::now();
    stream_writing_ = true;
    const bool failed = taken.failed;
    auto done = [self = shared_from_this(), last, failed](error_code ec, size_t) {
      if (self->state_ == State::Closed) return;
      self->stream_writing_ = false;
      if (ec) return self->close();
      self->stream_->sent(self->stream_out_.size());
      self->stream_out_.clear();
      if (!last || failed) return self->stream_next();
      self->stream_.reset();
      self->stream_serializer_.reset();
      const bool keep = self->stream_head_->keep_alive();
      self->stream_head_.reset();
      self->after_response(keep);
    };
    with_stream([&](auto& stream) {
      if (stream_unframed_) {
        asio::async_write(stream, asio::buffer(stream_out_), std::move(done));
      } else if (stream_out_.empty()) {
        asio::async_write(stream, http::make_chunk_last(), std::move(done));
      } else if (last && !failed) {
        asio::async_write(stream,
                          beast::buffers_cat(http::make_chunk(asio::buffer(stream_out_)),
                                             http::make_chunk_last()),
                          std::move(done));
      } else {
        asio::async_write(stream, http::make_chunk(asio::buffer(stream_out_)), std::move(done));
      }
    });
  }

  // Ends a TLS connection as TLS asks: our close_notify, then the client's close_notify or its TCP
  // close, whichever comes, but at most kTlsCloseTimeout later (a client that keeps the socket
  // open without answering must not hold the connection).
  void close_tls() {
    state_ = State::ClosingTls;
    arm_timer(std::chrono::duration_cast<std::chrono::milliseconds>(kTlsCloseTimeout));
    tls_->async_shutdown([self = shared_from_this()](error_code) {
      if (self->state_ == State::Closed) return;
      self->close();
    });
  }

  // Answers and closes without reading on: what the client still sends is not worth the daemon's
  // time (an oversized head is what a hostile client sends over and over). The answer may be lost
  // to a reset when the client is still sending.
  void refuse(int status, const char* message) {
    HttpResponse r;
    r.status = status;
    r.set_header("Content-Type", "application/json");
    r.body = std::string(R"({"errorMessage":")") + message + R"(","errorType":"BadRequest"})";
    write(std::move(r), false, State::Writing);
  }

  void too_large() {
    const HttpRequest head = request_head();
    head_request_ = head.method == "HEAD";
    parser_.reset();
    version_ = 11;
    auto& factory = listener_->options.on_too_large;
    HttpResponse r = factory ? factory(head) : default_too_large(head);
    if (state_ == State::Closed) return;  // the factory may have removed the listener
    write(std::move(r), false, State::Draining);
  }

  // After refusing a request whose body is still arriving: half-close and read what the client
  // sends until it closes, so that closing does not reset the connection (an RST can destroy
  // the answer before the client reads it). Over TLS too the socket's raw bytes are read: they
  // are thrown away, so there is nothing to decrypt.
  void drain() {
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    arm_timer(std::chrono::duration_cast<std::chrono::milliseconds>(kDrainTimeout));
    buffer_.consume(buffer_.size());
    drain_some();
  }
  void drain_some() {
    if (!drain_buf_) drain_buf_ = std::make_unique<std::array<char, 16384>>();
    socket_.async_read_some(asio::buffer(*drain_buf_),
                            [self = shared_from_this()](error_code ec, size_t n) {
                              if (self->state_ == State::Closed) return;
                              self->drained_ += n;
                              if (ec || self->drained_ > kDrainLimit) return self->close();
                              self->drain_some();
                            });
  }

  tcp::socket socket_;
  std::shared_ptr<Listener> listener_;
  uint64_t id_;
  Worker& worker_;
  std::shared_ptr<TlsServerContext> tls_context_;  // held while tls_ uses it
  std::unique_ptr<TlsStream> tls_;                 // null: plain HTTP
  State state_ = State::ReadingHeader;
  HttpRequest request_;         // the head of the request being read (body empty)
  std::string remote_address_;  // the peer's IP, copied into each request
  // Timeouts (listeners with timeouts only): when the current wait for a request or write of a
  // response began, and when the current request's first bytes were seen.
  Clock::time_point since_{};
  Clock::time_point request_since_{};
  bool request_started_ = false;
  bool body_slot_ = false;  // counted in the listener's body_readers
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  // A streamed request body (ListenerOptions::stream_body) being read by the handler: how many
  // fields its head had (later ones are trailers), and whether the handler answered before its end.
  bool streamed_body_ = false;
  bool body_streaming_ = false;
  bool body_abandoned_ = false;
  size_t head_fields_ = 0;
  // A streamed response (HttpResponse::stream) being written.
  std::shared_ptr<StreamedBody> stream_;
  std::optional<http::response<http::empty_body>> stream_head_;
  std::optional<http::response_serializer<http::empty_body>> stream_serializer_;
  std::string stream_out_;
  bool stream_writing_ = false;
  bool stream_unframed_ = false;  // HTTP/1.0: no chunks, the end is the connection's close
  bool head_request_ = false;     // the request being answered is a HEAD: no body goes out
  std::optional<asio::steady_timer> timer_;
  std::unique_ptr<std::array<char, 16384>> drain_buf_;
  size_t drained_ = 0;
  uint64_t seq_ = 0;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool keep_alive_override_ = true;
};

namespace {

void accept_next(const std::shared_ptr<HttpServer::Listener>& l);

// At the cap with a connection waiting: closes the oldest idle connection, trying one connection
// after another (each on its own thread), starting after id `after`. The listener's forget()
// resumes accepting. With none idle, the next connection to become idle closes itself (at_cap).
void evict_idle(const std::shared_ptr<HttpServer::Listener>& l, uint64_t after) {
  std::shared_ptr<HttpServer::Connection> conn;
  uint64_t id = 0;
  {
    std::lock_guard lock(l->mu);
    if (!l->paused || l->closed) return;
    auto it = l->conns.upper_bound(after);
    if (it == l->conns.end()) return;
    id = it->first;
    conn = it->second;
  }
  asio::dispatch(conn->executor(), [l, conn, id] {
    if (conn->close_if_idle()) return;
    asio::post(l->home->ioc, [l, id] { evict_idle(l, id); });
  });
}

// At the cap: waits, without accepting, until a connection is pending in the backlog; then makes
// room by closing an idle connection. Pending connections cost the daemon nothing until accepted.
void wait_for_room(const std::shared_ptr<HttpServer::Listener>& l) {
  l->acceptor.async_wait(tcp::acceptor::wait_read, [l](error_code ec) {
    if (ec || !l->acceptor.is_open()) return;
    {
      std::lock_guard lock(l->mu);
      if (!l->paused || l->closed) return;  // room was made meanwhile: accepting again
      l->at_cap.store(true, std::memory_order_relaxed);
    }
    evict_idle(l, 0);
  });
}

void on_accept_error(const std::shared_ptr<HttpServer::Listener>& l, error_code ec) {
  // Out of fds or similar. The pending connection stays in the backlog, so retrying at once would
  // spin: back off, and report at most once a second.
  const auto now = Clock::now();
  ++l->unreported_accept_errors;
  if (now - l->last_accept_report >= kAcceptErrorLogInterval) {
    log()->warn("listener {}: accept: {} ({} failures since the last report); retrying", l->id,
                ec.message(), l->unreported_accept_errors);
    l->last_accept_report = now;
    l->unreported_accept_errors = 0;
  }
  l->accept_backoff =
      std::clamp(l->accept_backoff * 2, std::chrono::milliseconds(kAcceptBackoffMin),
                 std::chrono::milliseconds(kAcceptBackoffMax));
  l->accept_retry.expires_after(l->accept_backoff);
  l->accept_retry.async_wait([l](error_code) {
    if (l->acceptor.is_open()) accept_next(l);
  });
}

void on_accept(const std::shared_ptr<HttpServer::Listener>& l, HttpServer::Worker& target,
               error_code ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted || !l->acceptor.is_open()) return;
  if (ec) return on_accept_error(l, ec);
  l->accept_backoff = std::chrono::milliseconds(0);
  error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  std::shared_ptr<HttpServer::Connection> conn;
  uint64_t id = 0;
  bool full = false;
  {
    std::lock_guard lock(l->mu);
    if (l->closed) return;
    id = l->next_conn++;
    try {
      conn = std::make_shared<HttpServer::Connection>(std::move(socket), l, id, target, l->tls);
    } catch (const std::exception& e) {
      // Out of memory for the TLS session (SSL_new): this connection is dropped (its socket
      // closes), the listener goes on accepting.
      log()->warn("listener {}: connection refused: {}", l->id, e.what());
      conn.reset();
    }
    if (conn) {
      l->conns.emplace(id, conn);
      const size_t cap = l->options.max_connections;
      full = cap > 0 && l->conns.size() >= cap;
      if (full) l->paused = true;
    }
  }
  if (!conn) return accept_next(l);
  if (&target == l->home) {
    conn->start();
  } else {
    asio::post(target.ioc, [conn] { conn->start(); });
  }
  if (full) return wait_for_room(l);  // accepting resumes when a connection closes
  accept_next(l);
}

void accept_next(const std::shared_ptr<HttpServer::Listener>& l) {
  HttpServer::Worker& target = *l->targets[l->next_target++ % l->targets.size()];
  l->acceptor.async_accept(target.ioc, [l, &target](error_code ec, tcp::socket socket) {
    on_accept(l, target, ec, std::move(socket));
  });
}

// Closes the acceptor and the connections; on the listener's home thread.
void close_listener(const std::shared_ptr<HttpServer::Listener>& l, bool graceful) {
  error_code ignored;
  l->acceptor.close(ignored);
  l->accept_retry.cancel();
  std::vector<std::shared_ptr<HttpServer::Connection>> conns;
  {
    std::lock_guard lock(l->mu);
    l->closed = true;
    for (auto& [id, c] : l->conns) conns.push_back(c);
  }
  for (auto& c : conns) {
    asio::dispatch(c->executor(), [c, graceful] {
      if (graceful) {
        c->shutdown_when_idle();
      } else {
        c->close();
      }
    });
  }
}

}  // namespace

void HttpServer::Listener::forget(uint64_t conn_id) {
  bool resume = false;
  {
    std::lock_guard lock(mu);
    conns.erase(conn_id);
    if (conns.empty()) conns_gone.notify_all();
    if (paused && !closed && conns.size() < options.max_connections) {
      paused = false;
      at_cap.store(false, std::memory_order_relaxed);
      resume = true;
    }
  }
  if (resume) {
    asio::post(home->ioc, [self = shared_from_this()] {
      if (self->acceptor.is_open()) accept_next(self);
    });
  }
}

HttpServer::HttpServer(size_t threads, std::chrono::microseconds idle_spin) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  for (size_t i = 0; i < threads; ++i) workers_.push_back(std::make_unique<Worker>());
  for (size_t i = 0; i < workers_.size(); ++i) {
    Worker* worker = workers_[i].get();
    worker->thread = std::thread([this, worker, i, idle_spin] {
      t_server = this;
      t_thread_index = static_cast<long>(i);
      auto serve = [worker, idle_spin] {
        if (idle_spin.count() <= 0) {
          worker->ioc.run();
          return;
        }
        auto last_work = std::chrono::steady_clock::now();
        while (!worker->ioc.stopped()) {
          if (worker->ioc.poll() > 0) {
            last_work = std::chrono::steady_clock::now();
          } else if (std::chrono::steady_clock::now() - last_work >= idle_spin) {
            worker->ioc.run_one();  // nothing came while spinning: sleep until something does
            last_work = std::chrono::steady_clock::now();
          }
        }
      };
      // An exception escaping a posted task or completion handler would end the thread and, with
      // it, the process (std::terminate): log it and go on serving.
      for (;;) {
        try {
          serve();
          return;
        } catch (const std::exception& e) {
          log()->error("io thread {}: unhandled exception: {}", i, e.what());
        } catch (...) {
          log()->error("io thread {}: unhandled non-standard exception", i);
        }
      }
    });
  }
}

HttpServer::~HttpServer() {
  stop();
  // Connections close their sockets while the io_contexts still exist.
  std::unordered_map<ListenerId, std::shared_ptr<Listener>> listeners;
  {
    std::lock_guard lock(mu_);
    listeners.swap(listeners_);
  }
  for (auto& [id, l] : listeners) {
    std::lock_guard lock(l->mu);
    l->conns.clear();
  }
}

size_t HttpServer::thread_count() const { return workers_.size(); }

long HttpServer::current_thread_index() const { return t_server == this ? t_thread_index : -1; }

asio::io_context* HttpServer::current_io_context() const {
  return t_server == this ? &workers_[static_cast<size_t>(t_thread_index)]->ioc : nullptr;
}

void HttpServer::post(size_t thread_index, std::function<void()> fn) {
  asio::post(workers_[thread_index % workers_.size()]->ioc, std::move(fn));
}

std::expected<ListenerId, std::string> HttpServer::add_listener(int listening_fd, Handler handler,
                                                                size_t thread_index,
                                                                ListenerOptions options) {
  if (stopped_) {
    ::close(listening_fd);
    return std::unexpected("server stopped");
  }
  Worker& home = *workers_[thread_index % workers_.size()];
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(listening_fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const std::string err = std::string("getsockname: ") + std::strerror(errno);
    ::close(listening_fd);
    return std::unexpected(err);
  }
  const tcp protocol = addr.ss_family == AF_INET6 ? tcp::v6() : tcp::v4();
  auto l = std::make_shared<Listener>(0, std::move(handler), std::move(options), home);
  l->targets = {&home};
  error_code ec;
  l->acceptor.assign(protocol, listening_fd, ec);
  if (ec) {
    ::close(listening_fd);
    return std::unexpected("adopt listening fd: " + ec.message());
  }
  return start_listener(std::move(l));
}

std::expected<ListenerId, std::string> HttpServer::listen(const std::string& host, uint16_t port,
                                                          Handler handler,
                                                          ListenerOptions options) {
  if (stopped_) return std::unexpected("server stopped");
  error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) return std::unexpected("bad address " + host + ": " + ec.message());
  const bool spread = options.spread_connections;
  Worker& home = *workers_[0];
  auto l = std::make_shared<Listener>(0, std::move(handler), std::move(options), home);
  if (spread) {
    for (auto& w : workers_) l->targets.push_back(w.get());
  } else {
    l->targets = {&home};
  }
  const tcp::endpoint endpoint(address, port);
  l->acceptor.open(endpoint.protocol(), ec);
  if (!ec) l->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) l->acceptor.bind(endpoint, ec);
  if (!ec) l->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return std::unexpected("listen on " + host + ":" + std::to_string(port) + ": " + ec.message());
  return start_listener(std::move(l));
}

std::expected<ListenerId, std::string> HttpServer::start_listener(std::shared_ptr<Listener> l) {
  error_code ec;
  const auto local = l->acceptor.local_endpoint(ec);
  if (!ec) l->port = local.port();
  if (!l->options.on_too_large) l->options.on_too_large = default_too_large;
  l->tls = l->options.tls;
  l->server_stopping = &stopped_;
  {
    std::lock_guard lock(mu_);
    l->id = next_id_++;
    listeners_.emplace(l->id, l);
  }
  const ListenerId id = l->id;
  auto& ioc = l->home->ioc;
  asio::post(ioc, [l = std::move(l)] { accept_next(l); });
  return id;
}

size_t HttpServer::connection_count(ListenerId id) const {
  std::shared_ptr<Listener> l;
  {
    std::lock_guard lock(mu_);
    auto it = listeners_.find(id);
    if (it == listeners_.end()) return 0;
    l = it->second;
  }
  std::lock_guard lock(l->mu);
  return l->conns.size();
}

uint16_t HttpServer::local_port(ListenerId id) const {
  std::lock_guard lock(mu_);
  auto it = listeners_.find(id);
  return it == listeners_.end() ? 0 : it->second->port;
}

void HttpServer::remove_listener(ListenerId id) {
  std::shared_ptr<Listener> l;
  {
    std::lock_guard lock(mu_);
    auto it = listeners_.find(id);
    if (it == listeners_.end()) return;
    l = std::move(it->second);
    listeners_.erase(it);
  }
  asio::dispatch(l->home->ioc, [l] { close_listener(l, false); });
}

bool HttpServer::replace_tls(ListenerId id, std::shared_ptr<TlsServerContext> tls) {
  std::shared_ptr<Listener> l;
  {
    std::lock_guard lock(mu_);
    auto it = listeners_.find(id);
    if (it == listeners_.end()) return false;
    l = it->second;
  }
  std::lock_guard lock(l->mu);
  if (!l->tls || !tls) return false;
  l->tls = std::move(tls);
  return true;
}

void HttpServer::stop(std::chrono::milliseconds grace) {
  if (stopped_.exchange(true)) return;
  std::vector<std::shared_ptr<Listener>> listeners;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, l] : listeners_) listeners.push_back(l);
  }
  for (auto& l : listeners) asio::post(l->home->ioc, [l] { close_listener(l, true); });
  // Each connection's last close opens the gate: no polling while they finish their replies.
  const auto deadline = std::chrono::steady_clock::now() + grace;
  for (auto& l : listeners) {
    std::unique_lock lock(l->mu);
    l->conns_gone.wait_until(lock, deadline, [&] { return l->conns.empty(); });
  }
  for (auto& l : listeners) asio::post(l->home->ioc, [l] { close_listener(l, false); });
  for (auto& w : workers_) w->guard.reset();
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
}

}  // namespace api
