// Plain HTTP request/response types shared by every HTTP surface (Lambda API, Runtime API).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace api {

// Header names compare case-insensitively (HTTP/1.1).
struct CaseInsensitiveLess {
  bool operator()(const std::string& a, const std::string& b) const {
    const size_t n = a.size() < b.size() ? a.size() : b.size();
    for (size_t i = 0; i < n; ++i) {
      const char ca = static_cast<char>(a[i] >= 'A' && a[i] <= 'Z' ? a[i] + 32 : a[i]);
      const char cb = static_cast<char>(b[i] >= 'A' && b[i] <= 'Z' ? b[i] + 32 : b[i]);
      if (ca != cb) return ca < cb;
    }
    return a.size() < b.size();
  }
};
using Headers = std::multimap<std::string, std::string, CaseInsensitiveLess>;

class StreamedBody;

// A request body the handler reads while it is still arriving (ListenerOptions::stream_body):
// the Runtime API's streamed responses, passed on before the function has finished.
class BodyReader {
 public:
  struct Piece {
    std::string data;
    bool last = false;       // the body is complete; `trailers` holds its trailer fields
    bool failed = false;     // the connection broke, or (too_large) the body passed its limit
    bool too_large = false;  // failed at the limit: the handler answers, the connection closes
    Headers trailers;
  };
  virtual ~BodyReader() = default;
  // Reads the next piece (some bytes, the end, or a failure) and calls `on_piece` with it on the
  // connection's io thread. One read at a time; none after a last or failed piece.
  virtual void read(std::function<void(Piece)> on_piece) = 0;
};

struct HttpRequest {
  std::string method;                             // "GET", "POST", ...
  std::string path;                               // percent-decoded path, without the query
  std::string raw_path;                           // the path as sent (SigV4 signs it encoded)
  std::string raw_query;                          // the query as sent, after '?' (may be empty)
  std::multimap<std::string, std::string> query;  // decoded query parameters
  Headers headers;
  std::string body;
  // Set instead of `body` when the listener streams this request's body (ListenerOptions).
  std::shared_ptr<BodyReader> body_reader;
  std::string remote_address;  // the client's IP address, as text ("" when unknown)
  unsigned version = 11;       // the request line's HTTP version: 10 or 11
  // The authenticated caller's account when it is not the daemon's own ("" otherwise): every
  // name the request uses is scoped to it (common/account_scope.hpp). Set by the client routes.
  std::string account;
  // Whether the caller's key is an admin key (credentials file), which may read every account's
  // metrics and environments. Only consulted when requests are authenticated.
  bool admin = false;

  // The first value of a header, or `fallback`.
  std::string header(const std::string& name, const std::string& fallback = {}) const {
    auto it = headers.find(name);
    return it == headers.end() ? fallback : it->second;
  }
  std::string query_param(const std::string& name, const std::string& fallback = {}) const {
    auto it = query.find(name);
    return it == query.end() ? fallback : it->second;
  }
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Set instead of `body` for a body sent while it is produced: written with chunked transfer
  // encoding, piece by piece, until its finish().
  std::shared_ptr<StreamedBody> stream;

  HttpResponse& set_header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

// Completes one request. May be called from any thread, exactly once; a handler that does not call
// it immediately (a long poll, an invocation waiting for its runtime) keeps it until it can.
using Reply = std::function<void(HttpResponse)>;

}  // namespace api
