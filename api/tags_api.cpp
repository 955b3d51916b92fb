// Lambda's tagging API (see tags_api.hpp).
#include "api/tags_api.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "api/function_name.hpp"
#include "api/function_tags.hpp"
#include "api/json_body.hpp"
#include "api/json_response.hpp"
#include "api/store_error_mapping.hpp"

namespace api {

using nlohmann::json;

namespace {

constexpr std::string_view kPrefix = "/2017-03-31/tags/";

}  // namespace

HttpResponse TagsApi::handle(const HttpRequest& request, const std::string& request_id) {
  const std::string& m = request.method;
  if (!request.path.starts_with(kPrefix) || (m != "GET" && m != "POST" && m != "DELETE"))
    return to_http(ApiError::unknown_operation("Unknown operation: " + m + " " + request.path),
                   request_id);
  const std::string resource = request.path.substr(kPrefix.size());
  // Lambda tags resources by ARN only; a bare name is a malformed ARN there.
  if (!resource.starts_with("arn:"))
    return to_http(ApiError::invalid_parameter(fmt::format(
                       "1 validation error detected: Value '{}' at 'resource' failed to satisfy "
                       "constraint: Member must be a function ARN",
                       resource)),
                   request_id);
  auto name = functions_.resolve_name(request, resource);
  if (!name) return to_http(name.error(), request_id);
  auto store_failure = [&](const common::StoreError& error) {
    return to_http(functions_.from_catalog(error, *name), request_id);
  };

  if (m == "GET") {
    auto config = catalog_.get(*name);
    if (!config) return store_failure(config.error());
    return json_response(200, {{"Tags", config->tags}}, request_id);
  }
  if (m == "DELETE") {
    std::vector<std::string> keys;
    for (auto [it, end] = request.query.equal_range("tagKeys"); it != end; ++it) {
      if (auto ok = check_tag_key(it->second); !ok) return to_http(ok.error(), request_id);
      keys.push_back(it->second);
    }
    if (keys.empty())
      return to_http(ApiError::invalid_parameter(
                         "1 validation error detected: Value null at 'tagKeys' failed to satisfy "
                         "constraint: Member must not be null"),
                     request_id);
    if (auto ok = catalog_.update_tags(*name, {}, keys); !ok) return store_failure(ok.error());
    return no_content_response(request_id);
  }
  const auto parsed = parse_json_object_body(request);
  if (!parsed) return to_http(parsed.error(), request_id);
  const json& body = *parsed;
  auto it = body.find("Tags");
  if (it == body.end() || it->is_null())
    return to_http(ApiError::invalid_parameter(
                       "1 validation error detected: Value null at 'tags' failed to satisfy "
                       "constraint: Member must not be null"),
                   request_id);
  auto tags = parse_tags(*it);
  if (!tags) return to_http(tags.error(), request_id);
  auto updated = catalog_.update_tags(*name, *tags, {});
  if (!updated) {
    if (updated.error().kind == common::StoreErrorKind::InvalidValue)
      return to_http(ApiError::invalid_parameter(updated.error().message), request_id);
    return store_failure(updated.error());
  }
  return no_content_response(request_id);
}

}  // namespace api
