// The request body as a JSON object (see json_body.hpp).
#include "api/json_body.hpp"

#include <fmt/format.h>

namespace api {

std::expected<nlohmann::json, ApiError> parse_json_object_body(const HttpRequest& request) {
  nlohmann::json body = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object())
    return std::unexpected(ApiError::invalid_request_content(
        "Could not parse request body into json: the body must be a JSON object"));
  return body;
}

ApiError wrong_type(std::string_view field, std::string_view expected) {
  return ApiError::invalid_request_content(fmt::format(
      "Could not parse request body into json: field '{}' must be {}", field, expected));
}

std::expected<std::optional<std::string>, ApiError> opt_string(const nlohmann::json& obj,
                                                               std::string_view key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) return std::unexpected(wrong_type(key, "a string"));
  return it->get<std::string>();
}

std::expected<std::optional<int64_t>, ApiError> opt_int(const nlohmann::json& obj,
                                                        std::string_view key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (it->is_number_unsigned()) {
    const auto v = it->get<uint64_t>();
    return v > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(v);
  }
  if (!it->is_number_integer()) return std::unexpected(wrong_type(key, "an integer"));
  return it->get<int64_t>();
}

std::expected<std::optional<bool>, ApiError> opt_bool(const nlohmann::json& obj,
                                                      std::string_view key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) return std::unexpected(wrong_type(key, "a boolean"));
  return it->get<bool>();
}

std::expected<const nlohmann::json*, ApiError> opt_object(const nlohmann::json& obj,
                                                          std::string_view key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  if (!it->is_object()) return std::unexpected(wrong_type(key, "an object"));
  return &*it;
}

}  // namespace api
