#include "api/http_route_match.hpp"

#include <tuple>

namespace api {
namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> segments;
  std::size_t start = path.starts_with('/') ? 1 : 0;
  while (start <= path.size()) {
    const std::size_t slash = path.find('/', start);
    const std::size_t end = slash == std::string_view::npos ? path.size() : slash;
    if (end > start) segments.push_back(path.substr(start, end - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return segments;
}

bool is_param(std::string_view seg) {
  return seg.size() > 2 && seg.front() == '{' && seg.back() == '}';
}
bool is_greedy(std::string_view seg) { return is_param(seg) && seg.ends_with("+}"); }
std::string param_name(std::string_view seg) {
  seg = seg.substr(1, seg.size() - 2);
  if (seg.ends_with('+')) seg.remove_suffix(1);
  return std::string(seg);
}

// Score: (exact method, literal count, param count) — higher is more specific.
using Score = std::tuple<int, std::size_t, std::size_t, std::size_t>;

std::optional<std::pair<Score, std::map<std::string, std::string>>> try_match(
    std::string_view key, std::string_view method, std::string_view path) {
  const std::size_t space = key.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const std::string_view key_method = key.substr(0, space);
  const bool any = key_method == "ANY";
  if (!any && key_method != method) return std::nullopt;
  const auto pattern = split_path(key.substr(space + 1));
  const auto segments = split_path(path);
  std::map<std::string, std::string> params;
  std::size_t literals = 0, single = 0;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (is_greedy(pattern[i])) {
      if (i != pattern.size() - 1 || segments.size() <= i) return std::nullopt;
      std::string rest;
      for (std::size_t j = i; j < segments.size(); ++j) {
        if (j > i) rest += '/';
        rest += segments[j];
      }
      params[param_name(pattern[i])] = rest;
      return std::pair{Score{any ? 0 : 1, literals, single, i}, params};
    }
    if (i >= segments.size()) return std::nullopt;
    if (is_param(pattern[i])) {
      params[param_name(pattern[i])] = std::string(segments[i]);
      ++single;
    } else if (pattern[i] == segments[i]) {
      ++literals;
    } else {
      return std::nullopt;
    }
  }
  if (pattern.size() != segments.size()) return std::nullopt;
  return std::pair{Score{any ? 0 : 1, literals + 1000, single, pattern.size()}, params};
}

}  // namespace

bool valid_http_route_key(std::string_view key) {
  if (key == "$default") return true;
  const std::size_t space = key.find(' ');
  if (space == std::string_view::npos || space == 0) return false;
  const std::string_view path = key.substr(space + 1);
  if (!path.starts_with('/')) return false;
  const auto pattern = split_path(path);
  for (std::size_t i = 0; i < pattern.size(); ++i)
    if (is_greedy(pattern[i]) && i != pattern.size() - 1) return false;
  return true;
}

std::optional<HttpRouteMatch> match_http_route(const std::vector<std::string>& route_keys,
                                               std::string_view method, std::string_view path) {
  std::optional<HttpRouteMatch> best;
  Score best_score{};
  std::optional<std::size_t> fallback;
  for (std::size_t i = 0; i < route_keys.size(); ++i) {
    if (route_keys[i] == "$default") {
      fallback = i;
      continue;
    }
    auto m = try_match(route_keys[i], method, path);
    if (!m) continue;
    // Literal-rich, exact-method routes win; a greedy match ranks below any full match.
    const Score score{std::get<1>(m->first), std::get<0>(m->first), std::get<2>(m->first),
                      std::get<3>(m->first)};
    if (!best || score > best_score) {
      best_score = score;
      best = HttpRouteMatch{i, route_keys[i], std::move(m->second)};
    }
  }
  if (!best && fallback) best = HttpRouteMatch{*fallback, "$default", {}};
  return best;
}

}  // namespace api
