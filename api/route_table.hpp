// A table of HTTP routes: (method, path pattern) -> handler, each marked as cheap (runs on the io
// thread that read the request) or blocking (runs on a pool). The first route whose pattern and
// method both match wins; a path that some route knows under another method is reported as such,
// so the caller decides what a wrong method answers.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace api {

// Where a route's handler runs. kIoThread is for handlers that answer at once or hand the request
// on without waiting; anything that may wait (SQLite, unzip, a long poll) is kBlocking.
enum class RouteExecution { kIoThread, kBlocking };

// The named parts of a matched path, in pattern order.
class PathParams {
 public:
  // The value captured as `name`; empty when the pattern has no such capture.
  const std::string& get(std::string_view name) const;
  void add(std::string name, std::string value) {
    params_.emplace_back(std::move(name), std::move(value));
  }
  size_t size() const { return params_.size(); }
  void truncate(size_t size) { params_.resize(size); }

 private:
  std::vector<std::pair<std::string, std::string>> params_;
};

// A path pattern such as "/2015-03-31/functions/{name}/invocations". Segments are separated by
// '/'; a segment is literal text (which may be empty, so "/a/" differs from "/a"), "{name}" (one
// non-empty segment) or "{name...}" (one or more whole segments, '/' included, whose text is not
// empty). Paths are matched as given: the HTTP server has already percent-decoded them.
class PathPattern {
 public:
  // Throws std::invalid_argument for a malformed pattern (a programming error, found at startup).
  explicit PathPattern(std::string_view pattern);

  // The captures if `path` matches the whole pattern.
  bool match(std::string_view path, PathParams* params) const;
  const std::string& text() const { return text_; }

 private:
  struct Segment {
    enum class Kind { kLiteral, kOne, kRest } kind;
    std::string text;  // the literal, or the capture's name
  };
  bool match_from(size_t segment, const std::vector<std::string_view>& parts, size_t part,
                  PathParams* params) const;

  std::string text_;
  std::vector<Segment> segments_;
};

template <typename Handler>
class RouteTable {
 public:
  struct Route {
    std::string method;  // "GET", "POST", ...; "*" for any method
    PathPattern pattern;
    RouteExecution execution;
    Handler handler;
  };

  // What a request finds: the route, and whether its method matched. With method_matches false,
  // `route` is the first route whose pattern matched the path under another method.
  struct Match {
    const Route* route = nullptr;
    PathParams params;
    bool method_matches = false;
  };

  RouteTable& add(std::string method, std::string_view pattern, RouteExecution execution,
                  Handler handler) {
    routes_.push_back(
        Route{std::move(method), PathPattern(pattern), execution, std::move(handler)});
    return *this;
  }

  // The route for `method` `path`; a match with method_matches false when only another method's
  // route has this path; route == nullptr when no route has it.
  Match find(std::string_view method, std::string_view path) const {
    Match found;
    for (const Route& route : routes_) {
      PathParams params;
      if (!route.pattern.match(path, &params)) continue;
      if (route.method == "*" || route.method == method)
        return Match{&route, std::move(params), true};
      if (found.route == nullptr) found = Match{&route, std::move(params), false};
    }
    return found;
  }

  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

}  // namespace api
