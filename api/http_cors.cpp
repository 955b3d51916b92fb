#include "api/http_cors.hpp"

#include <strings.h>

#include <algorithm>

namespace api {

namespace {

using nlohmann::json;

// Whether `list` (a JSON array of strings) has "*" or `value` (case-insensitive when asked).
bool listed(const json& cors, const char* key, const std::string& value, bool ignore_case) {
  if (!cors.contains(key) || !cors[key].is_array()) return false;
  return std::ranges::any_of(cors[key], [&](const json& item) {
    if (!item.is_string()) return false;
    const std::string& s = item.get_ref<const std::string&>();
    return s == "*" || (ignore_case ? strcasecmp(s.c_str(), value.c_str()) == 0 : s == value);
  });
}

std::string joined(const json& cors, const char* key) {
  std::string out;
  if (!cors.contains(key) || !cors[key].is_array()) return out;
  for (const auto& item : cors[key]) {
    if (!item.is_string()) continue;
    if (!out.empty()) out += ",";
    out += item.get<std::string>();
  }
  return out;
}

bool credentials_allowed(const json& cors) {
  return cors.contains("AllowCredentials") && cors["AllowCredentials"] == true;
}

void allow_origin(const json& cors, const std::string& origin, HttpResponse& response) {
  response.set_header("access-control-allow-origin", origin);
  response.set_header("vary", "Origin");
  if (credentials_allowed(cors)) response.set_header("access-control-allow-credentials", "true");
}

}  // namespace

std::optional<HttpResponse> cors_preflight(const json& cors, const HttpRequest& request) {
  if (!cors.is_object() || request.method != "OPTIONS") return std::nullopt;
  const std::string origin = request.header("origin");
  const std::string method = request.header("access-control-request-method");
  if (origin.empty() || method.empty()) return std::nullopt;
  HttpResponse response;
  response.status = 204;
  if (!listed(cors, "AllowOrigins", origin, false) || !listed(cors, "AllowMethods", method, true))
    return response;
  allow_origin(cors, origin, response);
  response.set_header("access-control-allow-methods", joined(cors, "AllowMethods"));
  if (const std::string headers = joined(cors, "AllowHeaders"); !headers.empty())
    response.set_header("access-control-allow-headers", headers);
  if (cors.contains("MaxAge") && cors["MaxAge"].is_number_integer())
    response.set_header("access-control-max-age", std::to_string(cors["MaxAge"].get<int64_t>()));
  return response;
}

void add_cors_headers(const json& cors, const std::string& origin, HttpResponse& response) {
  if (!cors.is_object()) return;
  if (origin.empty() || !listed(cors, "AllowOrigins", origin, false)) return;
  allow_origin(cors, origin, response);
  if (const std::string expose = joined(cors, "ExposeHeaders"); !expose.empty())
    response.set_header("access-control-expose-headers", expose);
}

}  // namespace api
