// The request body as a JSON object (see json_body.hpp).
#include "api/json_body.hpp"

namespace api {

std::expected<nlohmann::json, ApiError> parse_json_object_body(const HttpRequest& request) {
  nlohmann::json body = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object())
    return std::unexpected(ApiError::invalid_request_content(
        "Could not parse request body into json: the body must be a JSON object"));
  return body;
}

}  // namespace api
