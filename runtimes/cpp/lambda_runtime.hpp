// A header-only Lambda Runtime API (2018-06-01) client: a C++ function is a handler plus one
// lambda::run(handler) call in main. Needs only libc and libstdc++ (POSIX sockets, keep-alive).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace lambda {

// One event, as GET /runtime/invocation/next handed it out.
struct Invocation {
  std::string payload;
  std::string request_id;
  std::string function_arn;      // Lambda-Runtime-Invoked-Function-Arn
  std::string trace_id;          // Lambda-Runtime-Trace-Id, may be empty
  std::string client_context;    // Lambda-Runtime-Client-Context (JSON), may be empty
  std::string cognito_identity;  // Lambda-Runtime-Cognito-Identity, may be empty
  int64_t deadline_ms = 0;       // epoch milliseconds

  // Milliseconds until the deadline (negative once it has passed).
  int64_t remaining_ms() const {
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    return deadline_ms - now;
  }
};

// What a handler returns: a response body, or an error reported to the caller as
// {"errorMessage","errorType"} with X-Amz-Function-Error: Unhandled.
class Result {
 public:
  static Result success(std::string body, std::string content_type = "application/json") {
    return Result(true, std::move(body), std::move(content_type), {});
  }
  static Result failure(std::string error_type, std::string message) {
    return Result(false, std::move(message), {}, std::move(error_type));
  }
  bool ok() const { return ok_; }
  const std::string& body() const { return body_; }  // the message for a failure
  const std::string& content_type() const { return content_type_; }
  const std::string& error_type() const { return error_type_; }

 private:
  Result(bool ok, std::string body, std::string content_type, std::string error_type)
      : ok_(ok),
        body_(std::move(body)),
        content_type_(std::move(content_type)),
        error_type_(std::move(error_type)) {}
  bool ok_;
  std::string body_;
  std::string content_type_;
  std::string error_type_;
};

namespace detail {

inline std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

inline std::string error_json(const std::string& type, const std::string& message) {
  return "{\"errorMessage\":" + json_string(message) + ",\"errorType\":" + json_string(type) +
         ",\"stackTrace\":[]}";
}

inline std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return s;
}

struct Response {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// One keep-alive HTTP/1.1 connection to the Runtime API; reconnects when the server closed it.
class Connection {
 public:
  explicit Connection(std::string host_port) : host_port_(std::move(host_port)) {
    const auto colon = host_port_.rfind(':');
    host_ = host_port_.substr(0, colon);
    port_ = colon == std::string::npos ? "80" : host_port_.substr(colon + 1);
  }
  ~Connection() { disconnect(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Sends one request; on a connection the server closed while idle (nothing received), retries
  // once on a fresh one. Returns nullopt (with errno-style detail in `error`) on failure.
  std::optional<Response> request(const std::string& method, const std::string& path,
                                  const std::string& body,
                                  const std::map<std::string, std::string>& headers,
                                  std::string* error) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      const bool reused = fd_ >= 0;
      if (fd_ < 0 && !connect(error)) return std::nullopt;
      bool received_any = false;
      auto r = exchange(method, path, body, headers, &received_any, error);
      if (r) return r;
      disconnect();
      if (!reused || received_any) break;
    }
    return std::nullopt;
  }

 private:
  // Numeric addresses only (Lambda's is 127.0.0.1:9001), so static binaries need no NSS.
  bool connect(std::string* error) {
    sockaddr_storage addr{};
    socklen_t len = 0;
    std::string host = host_ == "localhost" ? "127.0.0.1" : host_;
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    const int port = std::atoi(port_.c_str());
    auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
    if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
      v4->sin_family = AF_INET;
      v4->sin_port = htons(static_cast<uint16_t>(port));
      len = sizeof *v4;
    } else if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
      v6->sin6_family = AF_INET6;
      v6->sin6_port = htons(static_cast<uint16_t>(port));
      len = sizeof *v6;
    } else {
      *error = "AWS_LAMBDA_RUNTIME_API is not a numeric address: " + host_port_;
      return false;
    }
    const int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      *error = std::string("socket: ") + std::strerror(errno);
      return false;
    }
    int rc;
    do {
      rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), len);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) {
      *error = "connect " + host_port_ + ": " + std::strerror(errno);
      ::close(fd);
      return false;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fd_ = fd;
    return true;
  }

  void disconnect() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    buffer_.clear();
  }

  bool send_all(const char* data, size_t n, std::string* error) {
    while (n > 0) {
      const ssize_t w = ::send(fd_, data, n, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        *error = std::string("send: ") + std::strerror(errno);
        return false;
      }
      data += w;
      n -= static_cast<size_t>(w);
    }
    return true;
  }

  // Appends what arrives to buffer_; false at EOF or on error.
  bool fill(bool* received_any, std::string* error) {
    char chunk[64 * 1024];
    for (;;) {
      const ssize_t r = ::recv(fd_, chunk, sizeof chunk, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        *error = r == 0 ? "connection closed by the Runtime API"
                        : std::string("recv: ") + std::strerror(errno);
        return false;
      }
      *received_any = true;
      buffer_.append(chunk, static_cast<size_t>(r));
      return true;
    }
  }

  std::optional<Response> exchange(const std::string& method, const std::string& path,
                                   const std::string& body,
                                   const std::map<std::string, std::string>& headers,
                                   bool* received_any, std::string* error) {
    std::string head = method + " " + path + " HTTP/1.1\r\nHost: " + host_port_ +
                       "\r\nUser-Agent: runtimed-cpp-runtime/1\r\n";
    for (const auto& [k, v] : headers) head += k + ": " + v + "\r\n";
    if (method != "GET") head += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    head += "\r\n";
    if (!send_all(head.data(), head.size(), error) || !send_all(body.data(), body.size(), error)) {
      return std::nullopt;
    }
    size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill(received_any, error)) return std::nullopt;
    }
    Response resp;
    const std::string head_text = buffer_.substr(0, end);
    buffer_.erase(0, end + 4);
    size_t line_end = head_text.find("\r\n");
    const std::string status_line = head_text.substr(0, line_end);
    const auto sp = status_line.find(' ');
    if (sp == std::string::npos) {
      *error = "bad status line: " + status_line;
      return std::nullopt;
    }
    resp.status = std::atoi(status_line.c_str() + sp + 1);
    while (line_end != std::string::npos) {
      const size_t start = line_end + 2;
      line_end = head_text.find("\r\n", start);
      const std::string line = head_text.substr(start, line_end - start);
      const auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      value.erase(value.find_last_not_of(" \t") + 1);
      resp.headers[lower(line.substr(0, colon))] = value;
    }
    const std::string length = resp.header("content-length");
    if (!length.empty()) {
      const size_t n = std::strtoull(length.c_str(), nullptr, 10);
      while (buffer_.size() < n) {
        if (!fill(received_any, error)) return std::nullopt;
      }
      resp.body = buffer_.substr(0, n);
      buffer_.erase(0, n);
    } else if (lower(resp.header("transfer-encoding")).find("chunked") != std::string::npos) {
      if (!read_chunked(&resp.body, received_any, error)) return std::nullopt;
    } else {
      // No length: the body runs to the end of the connection.
      while (fill(received_any, error)) {
      }
      resp.body = std::move(buffer_);
      disconnect();
      return resp;
    }
    if (lower(resp.header("connection")) == "close") disconnect();
    return resp;
  }

  bool read_chunked(std::string* body, bool* received_any, std::string* error) {
    for (;;) {
      size_t eol;
      while ((eol = buffer_.find("\r\n")) == std::string::npos) {
        if (!fill(received_any, error)) return false;
      }
      const size_t n = std::strtoull(buffer_.c_str(), nullptr, 16);
      buffer_.erase(0, eol + 2);
      if (n == 0) {  // skip trailers up to the empty line
        while ((eol = buffer_.find("\r\n")) != 0) {
          if (eol != std::string::npos) {
            buffer_.erase(0, eol + 2);
          } else if (!fill(received_any, error)) {
            return false;
          }
        }
        buffer_.erase(0, 2);
        return true;
      }
      while (buffer_.size() < n + 2) {
        if (!fill(received_any, error)) return false;
      }
      body->append(buffer_, 0, n);
      buffer_.erase(0, n + 2);
    }
  }

  std::string host_port_, host_, port_;
  int fd_ = -1;
  std::string buffer_;
};

}  // namespace detail

// Runs the Runtime API loop with `handler` (callable as Result(const Invocation&)) until the API
// becomes unreachable or refuses /next (the environment is shutting down). An exception that
// escapes the handler is reported as an error of type "std::exception" (or "UnknownException").
// Returns the process exit status for main.
template <class Handler>
int run(Handler&& handler) {
  const char* api = std::getenv("AWS_LAMBDA_RUNTIME_API");
  if (api == nullptr || *api == '\0') {
    std::fprintf(stderr, "lambda_runtime: AWS_LAMBDA_RUNTIME_API is not set\n");
    return 1;
  }
  const std::string base = "/2018-06-01/runtime/invocation/";
  detail::Connection conn(api);
  for (;;) {
    std::string error;
    auto next = conn.request("GET", base + "next", {}, {}, &error);
    if (!next) {
      std::fprintf(stderr, "lambda_runtime: GET next: %s\n", error.c_str());
      return 1;
    }
    if (next->status != 200) {
      std::fprintf(stderr, "lambda_runtime: GET next: HTTP %d %s\n", next->status,
                   next->body.c_str());
      return 1;
    }
    Invocation inv;
    inv.payload = std::move(next->body);
    inv.request_id = next->header("lambda-runtime-aws-request-id");
    inv.function_arn = next->header("lambda-runtime-invoked-function-arn");
    inv.trace_id = next->header("lambda-runtime-trace-id");
    inv.client_context = next->header("lambda-runtime-client-context");
    inv.cognito_identity = next->header("lambda-runtime-cognito-identity");
    inv.deadline_ms = std::strtoll(next->header("lambda-runtime-deadline-ms").c_str(), nullptr, 10);
    if (inv.request_id.empty()) {
      std::fprintf(stderr, "lambda_runtime: /next without Lambda-Runtime-Aws-Request-Id\n");
      return 1;
    }
    // Lambda's tracing SDKs read the trace id from the environment.
    if (!inv.trace_id.empty())
      ::setenv("_X_AMZN_TRACE_ID", inv.trace_id.c_str(), 1);
    else
      ::unsetenv("_X_AMZN_TRACE_ID");

    std::optional<Result> result;
    try {
      result.emplace(std::invoke(handler, std::as_const(inv)));
    } catch (const std::exception& e) {
      result.emplace(Result::failure("std::exception", e.what()));
    } catch (...) {
      result.emplace(Result::failure("UnknownException", "a non-standard exception was thrown"));
    }

    std::optional<detail::Response> posted;
    if (result->ok()) {
      const std::string type =
          result->content_type().empty() ? "application/json" : result->content_type();
      posted = conn.request("POST", base + inv.request_id + "/response", result->body(),
                            {{"Content-Type", type}}, &error);
    } else {
      posted = conn.request("POST", base + inv.request_id + "/error",
                            detail::error_json(result->error_type(), result->body()),
                            {{"Content-Type", "application/json"},
                             {"Lambda-Runtime-Function-Error-Type", result->error_type()}},
                            &error);
    }
    if (!posted) {
      std::fprintf(stderr, "lambda_runtime: POST result of %s: %s\n", inv.request_id.c_str(),
                   error.c_str());
      return 1;
    }
    // 413 (response too large) and 4xx refusals end this invocation but not the runtime.
    if (posted->status != 202) {
      std::fprintf(stderr, "lambda_runtime: POST result of %s: HTTP %d %s\n",
                   inv.request_id.c_str(), posted->status, posted->body.c_str());
    }
  }
}

}  // namespace lambda
