// runtimed's HTTP API management routes (see http_api_routes.hpp).
#include "runtimed/triggers/http_api_routes.hpp"

#include <fmt/format.h>

#include <set>

#include "api/function_name.hpp"
#include "api/http_route_match.hpp"
#include "api/json_body.hpp"
#include "api/json_response.hpp"
#include "common/account_scope.hpp"
#include "common/function_config.hpp"

namespace runtimed {

namespace {

using api::ApiError;
using nlohmann::json;

bool valid_api_name(const std::string& name) {
  if (name.empty() || name.size() > 128) return false;
  for (const char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      return false;
  }
  return true;
}

ApiError api_not_found(const std::string& name) {
  return ApiError::not_found("HTTP API not found: " + name);
}

}  // namespace

json HttpApiRoutes::api_json(const HttpApi& api) const {
  json routes = json::array();
  for (const auto& r : api.routes)
    routes.push_back({{"RouteKey", r.route_key},
                      {"FunctionArn", r.function_arn},
                      {"TimeoutInMillis", r.timeout_ms}});
  json out = {{"ApiId", api.api_id},
              {"ApiName", common::display_name(api.name)},
              {"ApiEndpoint", urls_.api_endpoint(api.api_id)},
              {"ProtocolType", "HTTP"},
              {"CreatedDate", api.created_date},
              {"Routes", std::move(routes)}};
  if (!api.cors.is_null()) out["CorsConfiguration"] = api.cors;
  return out;
}

api::HttpResponse HttpApiRoutes::put(const api::HttpRequest& request, const std::string& name,
                                     const std::string& request_id) {
  auto fail = [&](const ApiError& e) { return api::to_http(e, request_id); };
  if (!valid_api_name(name))
    return fail(ApiError::invalid_parameter(
        "An HTTP API's name is 1-128 of letters, digits, '-', '_' and '.': " + name));
  if (urls_.base().empty())
    return fail(ApiError::invalid_parameter(
        "HTTP APIs are served by the daemon's HTTP trigger listener, which is off: start runtimed "
        "serve with --http-listen ADDRESS"));
  const auto body = api::parse_json_object_body(request);
  if (!body) return fail(body.error());
  if (!body->contains("Routes") || !(*body)["Routes"].is_array())
    return fail(api::wrong_type("Routes", "a list of {RouteKey, FunctionArn, TimeoutInMillis}"));
  HttpApi api;
  api.name = common::scoped_name(request.account, name);
  api.created_date = common::lambda_timestamp(std::chrono::system_clock::now());
  std::set<std::string> keys;
  for (const auto& route : (*body)["Routes"]) {
    if (!route.is_object()) return fail(api::wrong_type("Routes", "a list of objects"));
    auto key = api::opt_string(route, "RouteKey");
    if (!key) return fail(key.error());
    auto arn = api::opt_string(route, "FunctionArn");
    if (!arn) return fail(arn.error());
    if (!*key || !api::valid_http_route_key(**key))
      return fail(ApiError::invalid_parameter(
          "RouteKey must be $default or 'METHOD /path' with {param} segments and at most a last "
          "{proxy+}: " +
          key->value_or("null")));
    if (!keys.insert(**key).second)
      return fail(ApiError::conflict("Route " + **key + " appears twice"));
    if (!*arn) return fail(ApiError::invalid_parameter("Route " + **key + " needs a FunctionArn"));
    int timeout_ms = api::kMaxIntegrationTimeoutMs;
    if (route.contains("TimeoutInMillis")) {
      const json& t = route["TimeoutInMillis"];
      if (!t.is_number_integer() || t.get<int64_t>() < api::kMinIntegrationTimeoutMs ||
          t.get<int64_t>() > api::kMaxIntegrationTimeoutMs)
        return fail(ApiError::invalid_parameter(
            fmt::format("Route {}: TimeoutInMillis must be an integer from {} to {}", **key,
                        api::kMinIntegrationTimeoutMs, api::kMaxIntegrationTimeoutMs)));
      timeout_ms = static_cast<int>(t.get<int64_t>());
    }
    auto target = api::resolve_for_caller(**arn, "", request, identity_);
    if (!target) return fail(target.error());
    // The function (and its version or alias) must exist now, as API Gateway checks the
    // integration's target when the route is made.
    if (auto exists = functions_.configuration_of(*target); !exists) return fail(exists.error());
    api.routes.push_back({**key, target->name, target->qualifier.value_or(""), **arn, timeout_ms});
  }
  if (body->contains("CorsConfiguration") && !(*body)["CorsConfiguration"].is_null()) {
    if (!(*body)["CorsConfiguration"].is_object())
      return fail(api::wrong_type("CorsConfiguration", "an object"));
    api.cors = (*body)["CorsConfiguration"];
  }
  auto stored = store_.put_api(std::move(api));
  if (!stored)
    return fail(ApiError::service("Storing the HTTP API failed: " + stored.error().message));
  return api::json_response(200, api_json(**stored), request_id);
}

api::HttpResponse HttpApiRoutes::get(const api::HttpRequest& request, const std::string& name,
                                     const std::string& request_id) {
  auto api = store_.api(common::scoped_name(request.account, name));
  if (!api) return api::to_http(api_not_found(name), request_id);
  return api::json_response(200, api_json(*api), request_id);
}

api::HttpResponse HttpApiRoutes::list(const api::HttpRequest& request,
                                      const std::string& request_id) {
  json items = json::array();
  for (const auto& api : store_.apis())
    if (common::in_account(api->name, request.account)) items.push_back(api_json(*api));
  return api::json_response(200, {{"Items", std::move(items)}}, request_id);
}

api::HttpResponse HttpApiRoutes::remove(const api::HttpRequest& request, const std::string& name,
                                        const std::string& request_id) {
  auto removed = store_.remove_api(common::scoped_name(request.account, name));
  if (!removed)
    return api::to_http(
        ApiError::service("Deleting the HTTP API failed: " + removed.error().message), request_id);
  if (!*removed) return api::to_http(api_not_found(name), request_id);
  return api::no_content_response(request_id);
}

}  // namespace runtimed
