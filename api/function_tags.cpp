// Tag validation (see function_tags.hpp).
#include "api/function_tags.hpp"

#include <fmt/format.h>

#include "common/function_config.hpp"

namespace api {

std::expected<void, ApiError> check_tag_key(std::string_view key) {
  if (key.empty() || key.size() > kMaxTagKeyLength)
    return std::unexpected(ApiError::invalid_parameter(
        fmt::format("1 validation error detected: Value '{}' at 'tags' failed to satisfy "
                    "constraint: Map keys must have length between 1 and {}",
                    key, kMaxTagKeyLength)));
  if (key.starts_with("aws:"))
    return std::unexpected(ApiError::invalid_parameter(
        fmt::format("Tag key '{}' is not valid: keys starting with 'aws:' are reserved", key)));
  return {};
}

std::expected<void, ApiError> check_tag_count(size_t count) {
  if (count > kMaxTagsPerResource)
    return std::unexpected(ApiError::invalid_parameter(
        fmt::format("A resource can have at most {} tags; this request would leave it with {}",
                    kMaxTagsPerResource, count)));
  return {};
}

std::expected<std::map<std::string, std::string>, ApiError> parse_tags(const nlohmann::json& tags) {
  if (!tags.is_object())
    return std::unexpected(ApiError::invalid_request_content(
        "Could not parse request body into json: Tags must be an object of strings"));
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : tags.items()) {
    if (auto ok = check_tag_key(key); !ok) return std::unexpected(ok.error());
    if (!value.is_string())
      return std::unexpected(ApiError::invalid_request_content(fmt::format(
          "Could not parse request body into json: the value of tag '{}' must be a string", key)));
    const auto& text = value.get_ref<const std::string&>();
    if (text.size() > kMaxTagValueLength)
      return std::unexpected(ApiError::invalid_parameter(
          fmt::format("1 validation error detected: Value at 'tags' failed to satisfy "
                      "constraint: Map value of '{}' must have length less than or equal to {}",
                      key, kMaxTagValueLength)));
    if (key == common::kNetworkTag && text != "none" && text != "bridge")
      return std::unexpected(ApiError::invalid_parameter(fmt::format(
          "Tag {} must be none (loopback only) or bridge (the host's network), not '{}'",
          common::kNetworkTag, text)));
    out.emplace(key, text);
  }
  if (auto ok = check_tag_count(out.size()); !ok) return std::unexpected(ok.error());
  return out;
}

}  // namespace api
