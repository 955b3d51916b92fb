// Plain HTTP request/response types shared by every HTTP surface (Lambda API, Runtime API).
#pragma once

#include <functional>
#include <map>
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

struct HttpRequest {
  std::string method;                             // "GET", "POST", ...
  std::string path;                               // percent-decoded path, without the query
  std::string raw_path;                           // the path as sent (SigV4 signs it encoded)
  std::string raw_query;                          // the query as sent, after '?' (may be empty)
  std::multimap<std::string, std::string> query;  // decoded query parameters
  Headers headers;
  std::string body;
  std::string remote_address;  // the client's IP address, as text ("" when unknown)
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

  HttpResponse& set_header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

// Completes one request. May be called from any thread, exactly once; a handler that does not call
// it immediately (a long poll, an invocation waiting for its runtime) keeps it until it can.
using Reply = std::function<void(HttpResponse)>;

}  // namespace api
