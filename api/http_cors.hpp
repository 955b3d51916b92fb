// CORS as Function URLs (Cors) and HTTP APIs (CorsConfiguration) apply it; both use the same
// fields: AllowOrigins, AllowMethods, AllowHeaders, ExposeHeaders, MaxAge, AllowCredentials.
// The front end answers preflights itself and adds the headers to every answer for an allowed
// origin, so functions need no CORS code.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>

#include "api/http_types.hpp"

namespace api {

// A preflight (OPTIONS with Origin and Access-Control-Request-Method) when `cors` is set: the
// answer to send instead of invoking (204, with the Allow headers when the origin and method
// are allowed, without them otherwise, so the browser refuses). nullopt: not a preflight.
std::optional<HttpResponse> cors_preflight(const nlohmann::json& cors, const HttpRequest& request);

// Adds Access-Control-Allow-Origin (and Expose-Headers, Allow-Credentials) to an answer to an
// allowed origin.
void add_cors_headers(const nlohmann::json& cors, const std::string& origin,
                      HttpResponse& response);

}  // namespace api
