// Path patterns of the route table (see route_table.hpp).
#include "api/route_table.hpp"

namespace api {

namespace {

// "/a/b/" -> {"a", "b", ""}; the leading '/' is not a segment.
std::vector<std::string_view> split_segments(std::string_view path) {
  std::vector<std::string_view> parts;
  path.remove_prefix(1);
  while (true) {
    const size_t slash = path.find('/');
    parts.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) return parts;
    path.remove_prefix(slash + 1);
  }
}

}  // namespace

const std::string& PathParams::get(std::string_view name) const {
  static const std::string kNone;
  for (const auto& [key, value] : params_)
    if (key == name) return value;
  return kNone;
}

PathPattern::PathPattern(std::string_view pattern) : text_(pattern) {
  if (!pattern.starts_with('/'))
    throw std::invalid_argument("route pattern must start with '/': " + text_);
  for (std::string_view part : split_segments(pattern)) {
    if (!part.starts_with('{')) {
      if (part.find_first_of("{}") != std::string_view::npos)
        throw std::invalid_argument("route pattern has a stray brace: " + text_);
      segments_.push_back({Segment::Kind::kLiteral, std::string(part)});
      continue;
    }
    if (!part.ends_with('}') || part.size() < 3)
      throw std::invalid_argument("route pattern has a bad capture: " + text_);
    std::string_view name = part.substr(1, part.size() - 2);
    Segment::Kind kind = Segment::Kind::kOne;
    if (name.ends_with("...")) {
      name.remove_suffix(3);
      kind = Segment::Kind::kRest;
    }
    if (name.empty() || name.find_first_of("{}/") != std::string_view::npos)
      throw std::invalid_argument("route pattern has a bad capture name: " + text_);
    segments_.push_back({kind, std::string(name)});
  }
}

bool PathPattern::match(std::string_view path, PathParams* params) const {
  if (!path.starts_with('/')) return false;
  PathParams captured;
  if (!match_from(0, split_segments(path), 0, &captured)) return false;
  *params = std::move(captured);
  return true;
}

bool PathPattern::match_from(size_t segment, const std::vector<std::string_view>& parts,
                             size_t part, PathParams* params) const {
  if (segment == segments_.size()) return part == parts.size();
  if (part == parts.size()) return false;
  const Segment& want = segments_[segment];
  const size_t captured = params->size();
  switch (want.kind) {
    case Segment::Kind::kLiteral:
      return parts[part] == want.text && match_from(segment + 1, parts, part + 1, params);
    case Segment::Kind::kOne:
      if (parts[part].empty()) return false;
      params->add(want.text, std::string(parts[part]));
      if (match_from(segment + 1, parts, part + 1, params)) return true;
      break;
    case Segment::Kind::kRest: {
      // Longest first, leaving each later segment at least one part: "{name...}/logs" gives the
      // last "logs" to the literal.
      std::string text(parts[part]);
      size_t end = part + 1;
      std::vector<std::string> candidates{text};
      for (; end < parts.size(); ++end) candidates.push_back(text += "/" + std::string(parts[end]));
      for (size_t taken = candidates.size(); taken > 0; --taken) {
        if (candidates[taken - 1].empty()) continue;
        params->add(want.text, candidates[taken - 1]);
        if (match_from(segment + 1, parts, part + taken, params)) return true;
        params->truncate(captured);
      }
      break;
    }
  }
  params->truncate(captured);
  return false;
}

}  // namespace api
