// Resource kinds and attribute tokens (see desired_stack.hpp).
#include "runtimed/deploy/desired_stack.hpp"

#include <array>
#include <set>

namespace runtimed::deploy {

namespace {

constexpr std::string_view kTokenStart = "${runtimed:";

constexpr std::array<std::pair<ResourceKind, std::string_view>, 11> kKindNames = {{
    {ResourceKind::kLayer, "Layer"},
    {ResourceKind::kQueue, "Queue"},
    {ResourceKind::kFunction, "Function"},
    {ResourceKind::kReservedConcurrency, "ReservedConcurrency"},
    {ResourceKind::kEventInvokeConfig, "EventInvokeConfig"},
    {ResourceKind::kAlias, "Alias"},
    {ResourceKind::kProvisionedConcurrency, "ProvisionedConcurrency"},
    {ResourceKind::kFunctionUrl, "FunctionUrl"},
    {ResourceKind::kHttpApi, "HttpApi"},
    {ResourceKind::kSchedule, "Schedule"},
    {ResourceKind::kEventSourceMapping, "EventSourceMapping"},
}};

void collect(const nlohmann::json& value, std::set<std::string>& keys) {
  if (value.is_string()) {
    const std::string& s = value.get_ref<const std::string&>();
    for (size_t at = s.find(kTokenStart); at != std::string::npos;
         at = s.find(kTokenStart, at + 1)) {
      const size_t end = s.find('}', at);
      if (end == std::string::npos) break;
      const std::string inner = s.substr(at + kTokenStart.size(), end - at - kTokenStart.size());
      const size_t dot = inner.rfind('.');
      keys.insert(dot == std::string::npos ? inner : inner.substr(0, dot));
    }
  } else if (value.is_structured()) {
    for (const auto& item : value) collect(item, keys);
  }
}

}  // namespace

std::string_view kind_name(ResourceKind kind) {
  for (const auto& [k, name] : kKindNames) {
    if (k == kind) return name;
  }
  return "?";
}

std::optional<ResourceKind> kind_from_name(std::string_view name) {
  for (const auto& [k, n] : kKindNames) {
    if (n == name) return k;
  }
  return std::nullopt;
}

std::string attribute_token(std::string_view key, std::string_view attribute) {
  return std::string(kTokenStart) + std::string(key) + "." + std::string(attribute) + "}";
}

std::vector<std::string> referenced_keys(const nlohmann::json& value) {
  std::set<std::string> keys;
  collect(value, keys);
  return {keys.begin(), keys.end()};
}

nlohmann::json substitute_tokens(const nlohmann::json& value,
                                 const std::map<std::string, std::string>& attributes) {
  if (value.is_string()) {
    std::string s = value.get<std::string>();
    size_t at = s.find(kTokenStart);
    while (at != std::string::npos) {
      const size_t end = s.find('}', at);
      if (end == std::string::npos) break;
      const std::string name = s.substr(at + kTokenStart.size(), end - at - kTokenStart.size());
      auto it = attributes.find(name);
      if (it == attributes.end()) {
        at = s.find(kTokenStart, end);
        continue;
      }
      s.replace(at, end + 1 - at, it->second);
      at = s.find(kTokenStart, at + it->second.size());
    }
    return s;
  }
  if (value.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [k, v] : value.items()) out[k] = substitute_tokens(v, attributes);
    return out;
  }
  if (value.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& v : value) out.push_back(substitute_tokens(v, attributes));
    return out;
  }
  return value;
}

}  // namespace runtimed::deploy
