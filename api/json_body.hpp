// The one reader of a Lambda API request body: a JSON object, or Lambda's
// InvalidRequestContentException.
#pragma once

#include <expected>
#include <nlohmann/json.hpp>

#include "api/http_types.hpp"
#include "api/lambda_error.hpp"

namespace api {

std::expected<nlohmann::json, ApiError> parse_json_object_body(const HttpRequest& request);

}  // namespace api
