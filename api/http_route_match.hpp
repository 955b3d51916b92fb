#pragma once
// Route matching for runtimed's HTTP APIs (API Gateway HTTP API route keys):
// "METHOD /path", "ANY /path", "{param}" segments, a greedy last "{proxy+}" and "$default".
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace api {

struct HttpRouteMatch {
  std::size_t route_index = 0;  // index into the route keys given
  std::string route_key;        // the matched key, as the event's routeKey
  std::map<std::string, std::string> path_parameters;
};

// Picks the route API Gateway would: an exact method beats ANY, literal segments beat
// {param}, {param} beats {proxy+}, and $default catches what nothing else matched.
std::optional<HttpRouteMatch> match_http_route(const std::vector<std::string>& route_keys,
                                               std::string_view method, std::string_view path);

// True when `key` is a valid route key ("$default" or "METHOD /path" with {proxy+} only last).
bool valid_http_route_key(std::string_view key);

// An HTTP API integration's TimeoutInMillis: 50 ms to 30 s, 30 s by default (API Gateway's quota).
inline constexpr int kMinIntegrationTimeoutMs = 50;
inline constexpr int kMaxIntegrationTimeoutMs = 30'000;

}  // namespace api
