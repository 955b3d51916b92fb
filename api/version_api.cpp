// PublishVersion and ListVersionsByFunction (see version_api.hpp).
#include "api/version_api.hpp"

#include <nlohmann/json.hpp>

#include "api/json_body.hpp"
#include "api/json_response.hpp"
#include "api/list_paging.hpp"

namespace api {

using nlohmann::json;

HttpResponse VersionApi::publish(const HttpRequest& request, const std::string& id,
                                 const std::string& request_id) {
  auto name = functions_.resolve_name(request, id);
  if (!name) return to_http(name.error(), request_id);
  auto body = request.body.empty() ? json::object() : parse_json_object_body(request);
  if (!body) return to_http(body.error(), request_id);
  auto code_sha256 = opt_string(*body, "CodeSha256");
  if (!code_sha256) return to_http(code_sha256.error(), request_id);
  auto description = opt_string(*body, "Description");
  if (!description) return to_http(description.error(), request_id);
  if (*description && (*description)->size() > common::kMaxDescriptionLength)
    return to_http(ApiError::invalid_parameter(
                       "1 validation error detected: Value at 'description' failed to satisfy "
                       "constraint: Member must have length less than or equal to 256"),
                   request_id);
  auto revision = opt_string(*body, "RevisionId");
  if (!revision) return to_http(revision.error(), request_id);
  auto version = catalog_.publish_version(*name, *code_sha256, *revision, *description);
  if (!version) return to_http(functions_.from_catalog(version.error(), *name), request_id);
  return json_response(201, functions_.configuration_json(*version), request_id);
}

HttpResponse VersionApi::list(const HttpRequest& request, const std::string& id,
                              const std::string& request_id) {
  auto name = functions_.resolve_name(request, id);
  if (!name) return to_http(name.error(), request_id);
  auto paging = parse_list_paging(request);
  if (!paging) return to_http(paging.error(), request_id);
  auto page = catalog_.list_versions(*name, paging->marker, paging->max_items);
  if (!page) return to_http(functions_.from_catalog(page.error(), *name), request_id);
  json versions = json::array();
  for (const auto& c : page->functions) versions.push_back(functions_.configuration_json(c));
  json out = {{"Versions", std::move(versions)}};
  if (page->next_marker) out["NextMarker"] = *page->next_marker;
  return json_response(200, out, request_id);
}

}  // namespace api
