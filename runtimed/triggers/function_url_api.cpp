// Lambda's Function URL API (see function_url_api.hpp). Shapes and messages from the Lambda API
// reference (CreateFunctionUrlConfig and friends).
#include "runtimed/triggers/function_url_api.hpp"

#include <fmt/format.h>

#include "api/json_body.hpp"
#include "api/json_response.hpp"
#include "api/list_paging.hpp"
#include "common/function_config.hpp"

namespace runtimed {

namespace {

using api::ApiError;
using nlohmann::json;

ApiError enum_error(std::string_view field, const std::string& value, std::string_view values) {
  return ApiError::invalid_parameter(
      fmt::format("1 validation error detected: Value '{}' at '{}' failed to satisfy constraint: "
                  "Member must satisfy enum value set: [{}]",
                  value, field, values));
}

// Lambda's Cors object: lists of strings, a boolean and MaxAge in [0, 86400]; nothing else.
std::expected<json, ApiError> checked_cors(const json& cors) {
  if (cors.is_null()) return json();
  if (!cors.is_object()) return std::unexpected(api::wrong_type("Cors", "an object"));
  for (const auto& [key, value] : cors.items()) {
    if (key == "AllowCredentials") {
      if (!value.is_boolean()) return std::unexpected(api::wrong_type(key, "a boolean"));
    } else if (key == "MaxAge") {
      if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() > 86400)
        return std::unexpected(
            ApiError::invalid_parameter("Cors.MaxAge must be an integer from 0 to 86400"));
    } else if (key == "AllowHeaders" || key == "AllowMethods" || key == "AllowOrigins" ||
               key == "ExposeHeaders") {
      if (!value.is_array()) return std::unexpected(api::wrong_type(key, "a list of strings"));
      for (const auto& v : value)
        if (!v.is_string()) return std::unexpected(api::wrong_type(key, "a list of strings"));
    } else {
      return std::unexpected(
          api::ApiError::invalid_request_content("Cors has an unknown field: " + key));
    }
  }
  return cors;
}

// The fields a Create or Update body may set, applied to `config`.
std::expected<void, ApiError> apply_body(const json& body, FunctionUrlConfig& config,
                                         bool creating) {
  auto auth = api::opt_string(body, "AuthType");
  if (!auth) return std::unexpected(auth.error());
  if (*auth) {
    if (**auth != "NONE" && **auth != "AWS_IAM")
      return std::unexpected(enum_error("authType", **auth, "AWS_IAM, NONE"));
    config.auth_type = **auth;
  } else if (creating) {
    return std::unexpected(ApiError::invalid_parameter(
        "1 validation error detected: Value null at 'authType' failed to satisfy constraint: "
        "Member must not be null"));
  }
  auto mode = api::opt_string(body, "InvokeMode");
  if (!mode) return std::unexpected(mode.error());
  if (*mode) {
    if (**mode != "BUFFERED" && **mode != "RESPONSE_STREAM")
      return std::unexpected(enum_error("invokeMode", **mode, "BUFFERED, RESPONSE_STREAM"));
    config.invoke_mode = **mode;
  }
  if (body.contains("Cors")) {
    auto cors = checked_cors(body["Cors"]);
    if (!cors) return std::unexpected(cors.error());
    config.cors = *cors;
  }
  return {};
}

}  // namespace

json FunctionUrlApi::config_json(const FunctionUrlConfig& c, bool with_last_modified) const {
  std::string arn = functions_.function_arn(c.function);
  if (!c.qualifier.empty()) arn += ":" + c.qualifier;
  json out = {{"FunctionUrl", urls_.function_url(c.url_id)},
              {"FunctionArn", arn},
              {"AuthType", c.auth_type},
              {"CreationTime", c.creation_time},
              {"InvokeMode", c.invoke_mode}};
  if (!c.cors.is_null()) out["Cors"] = c.cors;
  if (with_last_modified) out["LastModifiedTime"] = c.last_modified_time;
  return out;
}

api::HttpResponse FunctionUrlApi::handle(const api::HttpRequest& request, const std::string& id,
                                         const std::string& request_id) {
  const std::string& m = request.method;
  auto fail = [&](const ApiError& e) { return api::to_http(e, request_id); };
  auto function = functions_.resolve_qualified(request, id);
  if (!function) return fail(function.error());
  const std::string qualifier = function->qualifier.value_or("");
  if (api::is_version_qualifier(qualifier))
    return fail(ApiError::invalid_parameter(
        "Function URLs can be attached to an alias or to the unqualified function, not to a "
        "version: " +
        qualifier));
  // The function (and the alias) must exist: 404 names the qualified ARN.
  if (auto exists = functions_.configuration_of(*function); !exists) return fail(exists.error());
  const std::string arn =
      functions_.function_arn(function->name) + (qualifier.empty() ? "" : ":" + qualifier);
  auto not_found = [&] {
    return fail(ApiError::not_found("The resource you requested does not exist."));
  };
  auto store_failure = [&](const common::StoreError& e) {
    return fail(functions_.from_catalog(e, function->name));
  };

  if (m == "GET") {
    auto found = store_.url(function->name, qualifier);
    if (!found) return not_found();
    return api::json_response(200, config_json(*found, true), request_id);
  }
  if (m == "DELETE") {
    auto removed = store_.remove_url(function->name, qualifier);
    if (!removed) return store_failure(removed.error());
    if (!*removed) return not_found();
    return api::no_content_response(request_id);
  }
  if (m != "POST" && m != "PUT")
    return fail(ApiError::unknown_operation("Unknown operation: " + m + " " + request.path));
  if (urls_.base().empty())
    return fail(ApiError::invalid_parameter(
        "Function URLs are served by the daemon's HTTP trigger listener, which is off: start "
        "runtimed serve with --http-listen ADDRESS"));
  const auto body = api::parse_json_object_body(request);
  if (!body) return fail(body.error());
  const std::string now = common::lambda_timestamp(std::chrono::system_clock::now());

  if (m == "POST") {
    FunctionUrlConfig config;
    config.function = function->name;
    config.qualifier = qualifier;
    if (auto ok = apply_body(*body, config, true); !ok) return fail(ok.error());
    config.creation_time = config.last_modified_time = now;
    auto created = store_.create_url(std::move(config));
    if (!created && created.error().kind == common::StoreErrorKind::AlreadyExists)
      return fail(ApiError::conflict(fmt::format(
          "Failed to create function url config for [functionArn = {}]. Error message:  "
          "FunctionUrlConfig exists for this Lambda function",
          arn)));
    if (!created) return store_failure(created.error());
    return api::json_response(201, config_json(*created, false), request_id);
  }
  auto config = store_.url(function->name, qualifier);
  if (!config) return not_found();
  if (auto ok = apply_body(*body, *config, false); !ok) return fail(ok.error());
  config->last_modified_time = now;
  auto updated = store_.update_url(*config);
  if (!updated && updated.error().kind == common::StoreErrorKind::NotFound) return not_found();
  if (!updated) return store_failure(updated.error());
  return api::json_response(200, config_json(*updated, true), request_id);
}

api::HttpResponse FunctionUrlApi::list(const api::HttpRequest& request, const std::string& id,
                                       const std::string& request_id) {
  auto fail = [&](const ApiError& e) { return api::to_http(e, request_id); };
  if (request.method != "GET")
    return fail(
        ApiError::unknown_operation("Unknown operation: " + request.method + " " + request.path));
  auto name = functions_.resolve_name(request, id);
  if (!name) return fail(name.error());
  if (auto exists = functions_.configuration_of({*name, std::nullopt}); !exists)
    return fail(exists.error());
  auto paging = api::parse_list_paging(request);
  if (!paging) return fail(paging.error());
  const auto configs = store_.urls_of(*name);
  auto page = api::index_page(*paging, configs.size());
  if (!page) return fail(page.error());
  json items = json::array();
  for (size_t i = page->begin; i < page->end; ++i) items.push_back(config_json(configs[i], true));
  json body = {{"FunctionUrlConfigs", std::move(items)}};
  if (page->next_marker) body["NextMarker"] = *page->next_marker;
  return api::json_response(200, body, request_id);
}

}  // namespace runtimed
