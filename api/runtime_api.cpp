// The Lambda Runtime API (2018-06-01) served to one execution environment's runtime.
#include "api/runtime_api.hpp"

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>

#include "api/runtime_api_state.hpp"
#include "common/base64.hpp"
#include "common/function_error_types.hpp"
#include "common/module_logger.hpp"

namespace api {
namespace {

std::shared_ptr<spdlog::logger> log() {
  static const std::shared_ptr<spdlog::logger> logger = common::module_logger("runtime_api");
  return logger;
}

constexpr std::string_view kPrefix = "/2018-06-01/runtime/";
constexpr std::string_view kInvocation = "invocation/";

HttpResponse json_response(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.set_header("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

HttpResponse error_response(int status, const std::string& type, const std::string& message) {
  // Messages quote the runtime's path or request id, which may be any bytes: invalid UTF-8 is
  // replaced, not thrown (a throw from the too-large answer would terminate the daemon).
  return json_response(status, nlohmann::json{{"errorMessage", message}, {"errorType", type}}.dump(
                                   -1, ' ', false, nlohmann::json::error_handler_t::replace));
}

HttpResponse refusal_response(const RuntimeApiRefusal& r) {
  return error_response(r.status, r.error_type, r.message);
}

HttpResponse accepted() { return json_response(202, R"({"status":"OK"})"); }

HttpResponse event_response(const InvocationEvent& e) {
  HttpResponse r;
  r.status = 200;
  r.headers.reserve(7);
  r.set_header("Lambda-Runtime-Aws-Request-Id", e.request_id);
  r.set_header("Lambda-Runtime-Deadline-Ms", std::to_string(e.deadline_ms));
  if (!e.invoked_function_arn.empty())
    r.set_header("Lambda-Runtime-Invoked-Function-Arn", e.invoked_function_arn);
  if (!e.trace_id.empty()) r.set_header("Lambda-Runtime-Trace-Id", e.trace_id);
  if (!e.client_context.empty()) r.set_header("Lambda-Runtime-Client-Context", e.client_context);
  if (!e.cognito_identity.empty())
    r.set_header("Lambda-Runtime-Cognito-Identity", e.cognito_identity);
  r.set_header("Content-Type", "application/json");
  r.body = e.payload;
  return r;
}

// What a runtime's request addresses.
struct Route {
  enum class Kind { Next, Response, Error, InitError, NotFound } kind = Kind::NotFound;
  std::string request_id;
};

Route route(std::string_view path) {
  if (!path.starts_with(kPrefix)) return {};
  path.remove_prefix(kPrefix.size());
  if (path == "init/error") return {Route::Kind::InitError, {}};
  if (!path.starts_with(kInvocation)) return {};
  path.remove_prefix(kInvocation.size());
  if (path == "next") return {Route::Kind::Next, {}};
  const size_t slash = path.rfind('/');
  if (slash == std::string_view::npos || slash == 0) return {};
  const std::string_view id = path.substr(0, slash);
  const std::string_view action = path.substr(slash + 1);
  if (id.find('/') != std::string_view::npos) return {};
  if (action == "response") return {Route::Kind::Response, std::string(id)};
  if (action == "error") return {Route::Kind::Error, std::string(id)};
  return {};
}

const char* expected_method(Route::Kind k) { return k == Route::Kind::Next ? "GET" : "POST"; }

// The caller-visible error object for an error post, or a streamed response's error trailers
// (see InvocationOutcome::error_type): `header_type` is the runtime's
// Lambda-Runtime-Function-Error-Type, when it sent one.
InvocationOutcome error_outcome(const std::string* header_type, std::string body) {
  InvocationOutcome out;
  out.kind = InvocationOutcome::Kind::FunctionError;
  out.content_type = "application/json";
  if (header_type) out.error_type = normalize_error_type(*header_type);
  auto parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_object()) {
    // Without the header, the handler's own errorType (e.g. "ValueError") names the error.
    if (!header_type) {
      auto t = parsed.find("errorType");
      out.error_type = t != parsed.end() && t->is_string() && !t->get<std::string>().empty()
                           ? t->get<std::string>()
                           : function_error::kRuntimeUnknown;
    }
    out.body = std::move(body);
  } else {
    if (!header_type) out.error_type = function_error::kRuntimeUnknown;
    out.body = nlohmann::json{{"errorMessage", body}, {"errorType", out.error_type}}.dump(
        -1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return out;
}

InvocationOutcome error_outcome(const HttpRequest& req) {
  const auto header = req.headers.find("Lambda-Runtime-Function-Error-Type");
  return error_outcome(header != req.headers.end() ? &header->second : nullptr, req.body);
}

bool is_streaming(const HttpRequest& req) {
  return req.header("Lambda-Runtime-Function-Response-Mode") == "streaming";
}

InvocationOutcome too_large_outcome(size_t limit) {
  InvocationOutcome outcome;
  outcome.kind = InvocationOutcome::Kind::ResponseTooLarge;
  outcome.error_type = function_error::kFunctionResponseSizeTooLarge;
  outcome.content_type = "application/json";
  outcome.body =
      nlohmann::json{
          {"errorMessage",
           fmt::format("Response payload size exceeded maximum allowed payload size ({} bytes).",
                       limit)},
          {"errorType", outcome.error_type}}
          .dump();
  return outcome;
}

// The runtime's 413 for a response past `limit` bytes (the caller gets too_large_outcome).
HttpResponse too_large_answer(size_t limit) {
  return error_response(413, "RequestEntityTooLarge",
                        fmt::format("Exceeded maximum allowed payload size ({} bytes).", limit));
}

// A streamed response being read from the runtime (Lambda-Runtime-Function-Response-Mode:
// streaming) and passed on piece by piece.
struct StreamedResponse {
  std::string request_id;
  std::shared_ptr<BodyReader> reader;
  std::shared_ptr<ResponseStreamSink> sink;  // null: gathered into `gathered` for the caller
  std::string content_type;
  std::string gathered;
  Reply reply;  // the runtime's answer, once the stream has ended
};

}  // namespace

std::string normalize_error_type(std::string_view type) {
  auto matches = [&](std::string_view prefix) {
    if (!type.starts_with(prefix) || type.size() < prefix.size() + 2) return false;
    const std::string_view rest = type.substr(prefix.size());
    if (rest[0] < 'A' || rest[0] > 'Z') return false;
    for (char c : rest) {
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) return false;
    }
    return true;
  };
  if (matches("Runtime.") || matches("Function.")) return std::string(type);
  if (type.starts_with("Function.")) return function_error::kFunctionUnknown;
  return function_error::kRuntimeUnknown;
}

// Everything below runs on the endpoint's io thread except `closed` and construction.
struct RuntimeApiEndpoint::Impl : std::enable_shared_from_this<Impl> {
  Impl(HttpServer& s, size_t thread, RuntimeApiCallbacks cb, size_t max)
      : server(s), thread_index(thread), callbacks(std::move(cb)), max_payload(max) {}

  HttpServer& server;
  const size_t thread_index;
  const RuntimeApiCallbacks callbacks;
  const size_t max_payload;
  ListenerId listener = 0;
  std::atomic<bool> closed{false};
  std::atomic<uint64_t> handed_out{0};

  RuntimeApiState state;
  std::optional<InvocationEvent> pending;  // delivered, not yet handed out
  std::optional<InvocationEvent> current;  // handed out, kept for a repeated /next
  std::optional<Reply> parked;             // the long-polling /next
  // When `pending` arrived before init ended (the first /next): Lambda's timeout starts after
  // init, so the event's deadline moves later by the time init still took.
  std::optional<std::chrono::steady_clock::time_point> pending_during_init;

  void handle(HttpRequest&& req, Reply reply) {
    if (closed.load(std::memory_order_acquire)) return;
    const Route r = route(req.path);
    if (r.kind == Route::Kind::NotFound) {
      return reply(error_response(404, "NotFound", "No such endpoint: " + req.path));
    }
    if (req.method != expected_method(r.kind)) {
      return reply(error_response(405, "MethodNotAllowed", "Method not allowed"));
    }
    switch (r.kind) {
      case Route::Kind::Next:
        return next(std::move(reply));
      case Route::Kind::Response:
        return response(r.request_id, std::move(req), std::move(reply));
      case Route::Kind::Error:
        return error(r.request_id, req, reply);
      case Route::Kind::InitError:
        return init_error(req, reply);
      case Route::Kind::NotFound:
        break;
    }
  }

  void next(Reply reply) {
    auto poll = state.next_polled();
    if (!poll) return reply(refusal_response(poll.error()));
    if (*poll == NextPoll::Resend) {
      log()->debug("resending {}", current->request_id);
      return reply(event_response(*current));
    }
    if (*poll == NextPoll::ParkInitDone && callbacks.on_first_next) callbacks.on_first_next();
    if (closed.load(std::memory_order_acquire)) return;
    // A newer /next replaces an older one (a runtime that reconnected); the older stays unanswered
    // until its connection closes.
    parked = std::move(reply);
    if (pending) hand_out();
  }

  void hand_out() {
    InvocationEvent e = std::move(*pending);
    pending.reset();
    if (pending_during_init) {
      e.deadline_ms += std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - *pending_during_init)
                           .count();
      pending_during_init.reset();
    }
    if (auto ok = state.event_delivered(e.request_id); !ok) {
      log()->error("cannot hand out {}: {}", e.request_id, ok.error().message);
      return;
    }
    Reply reply = std::move(*parked);
    parked.reset();
    handed_out.fetch_add(1, std::memory_order_release);
    current = std::move(e);
    // Before the event goes out, so the START line precedes anything the handler prints.
    if (callbacks.on_event_taken) callbacks.on_event_taken(current->request_id);
    reply(event_response(*current));
  }

  void deliver(InvocationEvent e) {
    if (closed.load(std::memory_order_acquire)) return;
    if (pending || state.state() == RuntimeState::Invoking) {
      log()->error("event {} dropped: invocation {} not finished", e.request_id,
                   pending ? pending->request_id : state.request_id());
      return;
    }
    pending = std::move(e);
    if (state.state() == RuntimeState::Initializing)
      pending_during_init = std::chrono::steady_clock::now();
    if (parked && state.state() == RuntimeState::Idle) hand_out();
  }

  void response(const std::string& id, HttpRequest&& req, Reply reply) {
    if (auto ok = state.check_result(id); !ok) return reply(refusal_response(ok.error()));
    (void)state.response(id);
    if (req.body_reader) return stream_response(id, std::move(req), std::move(reply));
    // The outcome is recorded before the runtime's 202 goes out, so a runtime that exits right
    // after answering cannot turn its answer into an exit error.
    std::string content_type = req.header("Content-Type");
    finished(
        id,
        InvocationOutcome{
            InvocationOutcome::Kind::Response, std::move(req.body), std::move(content_type), {}});
    reply(accepted());
  }

  // The runtime streams its response: each piece goes to the caller's sink as it arrives (or is
  // gathered for a caller that takes it whole); the trailers say whether it ended in an error.
  void stream_response(const std::string& id, HttpRequest&& req, Reply reply) {
    auto s = std::make_shared<StreamedResponse>();
    s->request_id = id;
    s->reader = std::move(req.body_reader);
    s->sink = current ? current->stream_sink : nullptr;
    s->content_type = req.header("Content-Type", "application/octet-stream");
    s->reply = std::move(reply);
    if (s->sink) s->sink->begin(s->content_type, current->executed_version);
    read_stream(std::move(s));
  }

  void read_stream(std::shared_ptr<StreamedResponse> s) {
    auto reader = s->reader;
    reader->read([weak = weak_from_this(), s = std::move(s)](BodyReader::Piece piece) mutable {
      auto self = weak.lock();
      if (!self || self->closed.load(std::memory_order_acquire)) return;
      self->on_stream_piece(std::move(s), std::move(piece));
    });
  }

  void on_stream_piece(std::shared_ptr<StreamedResponse> s, BodyReader::Piece piece) {
    if (piece.failed) {
      if (piece.too_large) {
        // Past Lambda's streamed-response limit: the caller's stream ends in that error.
        finished(s->request_id, too_large_outcome(RuntimeApiEndpoint::kMaxStreamedPayload));
        return s->reply(too_large_answer(RuntimeApiEndpoint::kMaxStreamedPayload));
      }
      // The runtime's connection broke mid-stream: what it sent is all the caller gets.
      return finished(
          s->request_id,
          error_outcome(nullptr,
                        nlohmann::json{{"errorMessage",
                                        "The runtime's streamed response "
                                        "ended before it was complete (its "
                                        "connection broke)."},
                                       {"errorType", function_error::kRuntimeTruncatedResponse}}
                            .dump()));
    }
    if (s->sink) {
      if (!piece.data.empty()) s->sink->write(std::move(piece.data));
    } else if (s->gathered.size() + piece.data.size() > max_payload) {
      // A caller that takes the response whole gets at most the Invoke limit.
      finished(s->request_id, too_large_outcome(max_payload));
      return s->reply(too_large_answer(max_payload));
    } else {
      s->gathered += piece.data;
    }
    if (piece.last) return end_stream(s, piece.trailers);
    if (s->sink && s->sink->backlog() > RuntimeApiEndpoint::kStreamHighWater) {
      // A slow caller: read on once it has taken most of what waits.
      auto sink = s->sink;
      sink->when_below(RuntimeApiEndpoint::kStreamLowWater,
                       [weak = weak_from_this(), s = std::move(s)]() mutable {
                         auto self = weak.lock();
                         if (!self) return;
                         self->server.post(self->thread_index, [self, s = std::move(s)]() mutable {
                           if (!self->closed.load(std::memory_order_acquire))
                             self->read_stream(std::move(s));
                         });
                       });
      return;
    }
    read_stream(std::move(s));
  }

  // The streamed body ended: its trailers carry the error, if the function failed mid-stream.
  void end_stream(const std::shared_ptr<StreamedResponse>& s, const Headers& trailers) {
    InvocationOutcome outcome;
    const auto type = trailers.find("Lambda-Runtime-Function-Error-Type");
    if (type != trailers.end()) {
      const auto body = trailers.find("Lambda-Runtime-Function-Error-Body");
      std::optional<std::string> decoded;
      if (body != trailers.end()) decoded = common::base64_decode(body->second);
      outcome = error_outcome(&type->second, decoded.value_or(std::string()));
      if (!decoded) {
        outcome.body = nlohmann::json{
            {"errorMessage", "The function's stream ended in an error"},
            {"errorType",
             type->second}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      }
    } else {
      outcome.kind = InvocationOutcome::Kind::Response;
      outcome.body = std::move(s->gathered);
      outcome.content_type = s->content_type;
    }
    finished(s->request_id, std::move(outcome));
    s->reply(accepted());
  }

  void error(const std::string& id, const HttpRequest& req, const Reply& reply) {
    if (auto ok = state.error(id); !ok) return reply(refusal_response(ok.error()));
    finished(id, error_outcome(req));
    reply(accepted());
  }

  void init_error(const HttpRequest& req, const Reply& reply) {
    if (auto ok = state.init_error(); !ok) return reply(refusal_response(ok.error()));
    // The controller hears of the error before the runtime gets its 202: a runtime exits right
    // after, and its exit must not overtake the error it reported.
    if (callbacks.on_init_error && !closed.load(std::memory_order_acquire))
      callbacks.on_init_error(error_outcome(req));
    reply(accepted());
  }

  void finished(const std::string& id, InvocationOutcome outcome) {
    current.reset();
    if (callbacks.on_outcome && !closed.load(std::memory_order_acquire))
      callbacks.on_outcome(id, std::move(outcome));
  }

  // The request body exceeded max_payload; called by the server with the request head.
  HttpResponse too_large(const HttpRequest& head) {
    const Route r = route(head.path);
    if (closed.load(std::memory_order_acquire) || head.method != "POST" ||
        (r.kind != Route::Kind::Response && r.kind != Route::Kind::Error)) {
      return too_large_answer(max_payload);
    }
    if (auto ok = state.response(r.request_id); !ok) return refusal_response(ok.error());
    // RIE: the runtime gets 413, the caller Function.ResponseSizeTooLarge.
    finished(r.request_id, too_large_outcome(max_payload));
    return too_large_answer(max_payload);
  }

  void close_on_thread() {
    state.close();
    pending.reset();
    pending_during_init.reset();
    current.reset();
    parked.reset();
  }
};

std::expected<std::unique_ptr<RuntimeApiEndpoint>, std::string> RuntimeApiEndpoint::create(
    HttpServer& server, int listening_fd, size_t thread_index, RuntimeApiCallbacks callbacks,
    size_t max_payload) {
  auto impl = std::make_shared<Impl>(server, thread_index % server.thread_count(),
                                     std::move(callbacks), max_payload);
  std::weak_ptr<Impl> weak = impl;
  ListenerOptions options;
  // One tenant must not be able to grow the daemon: everything a runtime can make the daemon
  // hold is capped per environment (docs/limits.md).
  options.body_limit = max_payload;
  options.header_limit = kMaxRequestHead;
  options.max_connections = kMaxConnections;
  options.max_body_readers = kMaxBodyReaders;
  // A parked /next or a runtime sitting between requests is never timed out; a request it has
  // begun to send (or a response it does not read) must be done within this.
  options.idle_timeout = std::chrono::milliseconds(0);
  options.request_timeout = kRequestTimeout;
  // A streamed response is read while it arrives, up to Lambda's streamed-response limit.
  options.stream_body = [](const HttpRequest& head) -> std::optional<size_t> {
    if (head.method != "POST" || !is_streaming(head) ||
        route(head.path).kind != Route::Kind::Response)
      return std::nullopt;
    return RuntimeApiEndpoint::kMaxStreamedPayload;
  };
  options.on_too_large = [weak](const HttpRequest& head) {
    auto self = weak.lock();
    return self ? self->too_large(head)
                : error_response(413, "RequestEntityTooLarge", "Payload too large");
  };
  auto id = server.add_listener(
      listening_fd,
      [weak](HttpRequest&& req, Reply reply) {
        if (auto self = weak.lock()) self->handle(std::move(req), std::move(reply));
      },
      impl->thread_index, std::move(options));
  if (!id) return std::unexpected(id.error());
  impl->listener = *id;
  return std::unique_ptr<RuntimeApiEndpoint>(new RuntimeApiEndpoint(std::move(impl)));
}

RuntimeApiEndpoint::RuntimeApiEndpoint(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

RuntimeApiEndpoint::RuntimeApiEndpoint(HttpServer& server, int listening_fd, size_t thread_index,
                                       RuntimeApiCallbacks callbacks, size_t max_payload) {
  auto made = create(server, listening_fd, thread_index, std::move(callbacks), max_payload);
  if (!made) throw std::runtime_error("runtime API endpoint: " + made.error());
  impl_ = std::move((*made)->impl_);
}

RuntimeApiEndpoint::~RuntimeApiEndpoint() { close(); }

void RuntimeApiEndpoint::deliver(InvocationEvent event) {
  if (!impl_) return;
  impl_->server.post(impl_->thread_index, [impl = impl_, e = std::move(event)]() mutable {
    impl->deliver(std::move(e));
  });
}

void RuntimeApiEndpoint::close() {
  if (!impl_ || impl_->closed.exchange(true)) return;
  impl_->server.remove_listener(impl_->listener);
  impl_->server.post(impl_->thread_index, [impl = impl_] { impl->close_on_thread(); });
}

size_t RuntimeApiEndpoint::thread_index() const { return impl_ ? impl_->thread_index : 0; }

uint64_t RuntimeApiEndpoint::events_handed_out() const {
  return impl_ ? impl_->handed_out.load(std::memory_order_acquire) : 0;
}

}  // namespace api
