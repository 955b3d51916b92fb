// The Layers API (see layer_api.hpp).
#include "api/layer_api.hpp"

#include <fmt/format.h>

#include <charconv>

#include "api/function_name.hpp"
#include "api/json_body.hpp"
#include "api/json_response.hpp"
#include "api/layer_arn.hpp"
#include "api/list_paging.hpp"
#include "api/store_error_mapping.hpp"
#include "common/account_scope.hpp"
#include "common/base64.hpp"
#include "common/runtime_catalog.hpp"

namespace api {

using nlohmann::json;

namespace {

// Lambda's limits: 15 compatible runtimes, 2 architectures, a 256-character description and a
// 512-character licence.
constexpr size_t kMaxCompatibleRuntimes = 15;
constexpr size_t kMaxLicenseInfo = 512;

std::expected<std::vector<std::string>, ApiError> string_list(const json& body,
                                                              std::string_view key) {
  std::vector<std::string> out;
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return out;
  if (!it->is_array()) return std::unexpected(wrong_type(key, "a list of strings"));
  for (const auto& v : *it) {
    if (!v.is_string()) return std::unexpected(wrong_type(key, "a list of strings"));
    out.push_back(v.get<std::string>());
  }
  return out;
}

// A path's {version}: a positive integer, else Lambda's validation message.
std::expected<int64_t, ApiError> parse_version(const std::string& text) {
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < 1)
    return std::unexpected(ApiError::invalid_parameter(
        fmt::format("1 validation error detected: Value '{}' at 'versionNumber' failed to "
                    "satisfy constraint: Member must be a positive integer",
                    text)));
  return v;
}

}  // namespace

json LayerApi::layer_version_json(const LayerVersion& l) const {
  return {
      {"Content",
       {{"Location", "runtimed://layers/" + l.layer_name + "/" + std::to_string(l.version)},
        {"CodeSha256", l.code_sha256},
        {"CodeSize", l.code_size}}},
      {"LayerArn", layer_arn(identity_, l.layer_name)},
      {"LayerVersionArn", layer_version_arn(identity_, l.layer_name, l.version)},
      {"Description", l.description},
      {"CreatedDate", l.created_date},
      {"Version", l.version},
      {"CompatibleRuntimes", l.compatible_runtimes},
      {"CompatibleArchitectures", l.compatible_architectures},
      {"LicenseInfo", l.license_info},
  };
}

json LayerApi::layer_version_summary(const LayerVersion& l) const {
  json j = layer_version_json(l);
  j.erase("Content");
  j.erase("LayerArn");
  return j;
}

ApiError LayerApi::not_found(const std::string& name, int64_t version) const {
  return ApiError::not_found(
      fmt::format("Layer version {} does not exist.", layer_version_arn(identity_, name, version)));
}

std::expected<std::string, ApiError> LayerApi::resolve(const HttpRequest& request,
                                                       std::string_view id) const {
  auto name = resolve_layer_name(id, caller_identity(identity_, request));
  if (name) *name = common::scoped_name(request.account, *name);
  return name;
}

HttpResponse LayerApi::publish(const HttpRequest& request, const std::string& id,
                               const std::string& request_id) {
  auto name = resolve(request, id);
  if (!name) return to_http(name.error(), request_id);
  auto build = [&]() -> std::expected<std::pair<LayerVersion, std::string>, ApiError> {
    auto body = parse_json_object_body(request);
    if (!body) return std::unexpected(body.error());
    LayerVersion layer{.layer_name = *name};
    auto description = opt_string(*body, "Description");
    if (!description) return std::unexpected(description.error());
    layer.description = description->value_or("");
    if (layer.description.size() > common::kMaxDescriptionLength)
      return std::unexpected(ApiError::invalid_parameter(
          "1 validation error detected: Value at 'description' failed to satisfy constraint: "
          "Member must have length less than or equal to 256"));
    auto license = opt_string(*body, "LicenseInfo");
    if (!license) return std::unexpected(license.error());
    layer.license_info = license->value_or("");
    if (layer.license_info.size() > kMaxLicenseInfo)
      return std::unexpected(ApiError::invalid_parameter(
          "1 validation error detected: Value at 'licenseInfo' failed to satisfy constraint: "
          "Member must have length less than or equal to 512"));
    auto runtimes = string_list(*body, "CompatibleRuntimes");
    if (!runtimes) return std::unexpected(runtimes.error());
    if (runtimes->size() > kMaxCompatibleRuntimes)
      return std::unexpected(ApiError::invalid_parameter(
          "1 validation error detected: Value at 'compatibleRuntimes' failed to satisfy "
          "constraint: Member must have length less than or equal to 15"));
    for (const auto& runtime : *runtimes) {
      if (common::runtime_support(runtime) == common::RuntimeSupport::Unknown)
        return std::unexpected(ApiError::invalid_parameter(fmt::format(
            "1 validation error detected: Value '{}' at 'compatibleRuntimes' failed to satisfy "
            "constraint: Member must satisfy enum value set of Lambda's runtimes",
            runtime)));
    }
    layer.compatible_runtimes = std::move(*runtimes);
    auto architectures = string_list(*body, "CompatibleArchitectures");
    if (!architectures) return std::unexpected(architectures.error());
    for (const auto& a : *architectures)
      if (a != "x86_64")
        return std::unexpected(ApiError::invalid_parameter(
            "CompatibleArchitectures: only x86_64 is supported in this version of runtimed"));
    layer.compatible_architectures = std::move(*architectures);
    auto content = opt_object(*body, "Content");
    if (!content) return std::unexpected(content.error());
    if (!*content)
      return std::unexpected(ApiError::invalid_parameter(
          "1 validation error detected: Value null at 'content' failed to satisfy constraint: "
          "Member must not be null"));
    for (auto key : {"S3Bucket", "S3Key", "S3ObjectVersion"})
      if ((*content)->contains(key))
        return std::unexpected(ApiError::invalid_parameter(
            fmt::format("{} is not supported by runtimed: upload the layer as ZipFile", key)));
    auto zip = opt_string(**content, "ZipFile");
    if (!zip) return std::unexpected(zip.error());
    if (!*zip)
      return std::unexpected(
          ApiError::invalid_parameter("Please provide a source for the layer content."));
    auto bytes = common::base64_decode(**zip);
    if (!bytes)
      return std::unexpected(ApiError::invalid_parameter(
          "Could not decode Content.ZipFile: it must be the zip file's bytes in base64"));
    return std::pair{std::move(layer), std::move(*bytes)};
  };
  auto parsed = build();
  if (!parsed) return to_http(parsed.error(), request_id);
  auto published = catalog_.publish_layer_version(std::move(parsed->first), parsed->second);
  if (!published) return to_http(to_api_error(published.error()), request_id);
  return json_response(201, layer_version_json(*published), request_id);
}

HttpResponse LayerApi::get(const HttpRequest& request, const std::string& id,
                           const std::string& version_text, const std::string& request_id) {
  auto name = resolve(request, id);
  if (!name) return to_http(name.error(), request_id);
  const auto version = parse_version(version_text);
  if (!version) return to_http(version.error(), request_id);
  auto layer = catalog_.get_layer_version(*name, *version);
  if (!layer) {
    return to_http(layer.error().kind == common::StoreErrorKind::NotFound
                       ? not_found(*name, *version)
                       : to_api_error(layer.error()),
                   request_id);
  }
  return json_response(200, layer_version_json(*layer), request_id);
}

HttpResponse LayerApi::get_by_arn(const HttpRequest& request, const std::string& arn,
                                  const std::string& request_id) {
  auto ref = parse_layer_version_arn(arn, caller_identity(identity_, request));
  if (!ref) return to_http(ref.error(), request_id);
  return get(request, ref->name, std::to_string(ref->version), request_id);
}

HttpResponse LayerApi::remove(const HttpRequest& request, const std::string& id,
                              const std::string& version_text, const std::string& request_id) {
  auto name = resolve(request, id);
  if (!name) return to_http(name.error(), request_id);
  const auto version = parse_version(version_text);
  if (!version) return to_http(version.error(), request_id);
  if (auto ok = catalog_.remove_layer_version(*name, *version); !ok)
    return to_http(to_api_error(ok.error()), request_id);
  return no_content_response(request_id);
}

HttpResponse LayerApi::list_versions(const HttpRequest& request, const std::string& id,
                                     const std::string& request_id) {
  auto name = resolve(request, id);
  if (!name) return to_http(name.error(), request_id);
  auto paging = parse_list_paging(request);
  if (!paging) return to_http(paging.error(), request_id);
  std::optional<std::string> runtime;
  if (auto it = request.query.find("CompatibleRuntime"); it != request.query.end())
    runtime = it->second;
  auto page = catalog_.list_layer_versions(*name, runtime, paging->marker, paging->max_items);
  if (!page) return to_http(to_api_error(page.error()), request_id);
  json versions = json::array();
  for (const auto& l : page->versions) versions.push_back(layer_version_summary(l));
  json out = {{"LayerVersions", std::move(versions)}};
  if (page->next_marker) out["NextMarker"] = *page->next_marker;
  return json_response(200, out, request_id);
}

HttpResponse LayerApi::list_layers(const HttpRequest& request, const std::string& request_id) {
  if (request.query_param("find") == "LayerVersion")
    return get_by_arn(request, std::string(request.query_param("Arn")), request_id);
  auto paging = parse_list_paging(request);
  if (!paging) return to_http(paging.error(), request_id);
  std::optional<std::string> runtime;
  if (auto it = request.query.find("CompatibleRuntime"); it != request.query.end())
    runtime = it->second;
  auto page = catalog_.list_layers(runtime, paging->marker, paging->max_items);
  if (!page) return to_http(to_api_error(page.error()), request_id);
  json layers = json::array();
  for (const auto& l : page->versions) {
    if (!common::in_account(l.layer_name, request.account)) continue;
    layers.push_back({{"LayerName", common::display_name(l.layer_name)},
                      {"LayerArn", layer_arn(identity_, l.layer_name)},
                      {"LatestMatchingVersion", layer_version_summary(l)}});
  }
  json out = {{"Layers", std::move(layers)}};
  if (page->next_marker) out["NextMarker"] = *page->next_marker;
  return json_response(200, out, request_id);
}

}  // namespace api
