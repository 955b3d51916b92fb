// The one reader of a Lambda API request body: a JSON object, or Lambda's
// InvalidRequestContentException.
#pragma once

#include <cstdint>
#include <expected>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "api/http_types.hpp"
#include "api/lambda_error.hpp"

namespace api {

std::expected<nlohmann::json, ApiError> parse_json_object_body(const HttpRequest& request);

// InvalidRequestContentException for a body field of the wrong JSON type.
ApiError wrong_type(std::string_view field, std::string_view expected);

// Typed optional fields of a body: absent or null is nullopt (nullptr for an object); a wrong type
// is wrong_type's error.
std::expected<std::optional<std::string>, ApiError> opt_string(const nlohmann::json& obj,
                                                               std::string_view key);
std::expected<std::optional<int64_t>, ApiError> opt_int(const nlohmann::json& obj,
                                                        std::string_view key);
std::expected<std::optional<bool>, ApiError> opt_bool(const nlohmann::json& obj,
                                                      std::string_view key);
std::expected<const nlohmann::json*, ApiError> opt_object(const nlohmann::json& obj,
                                                          std::string_view key);

}  // namespace api
