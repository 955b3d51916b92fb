// The alias operations (see alias_api.hpp).
#include "api/alias_api.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>

#include "api/alias_routing.hpp"
#include "api/json_body.hpp"
#include "api/json_response.hpp"
#include "api/list_paging.hpp"
#include "api/store_error_mapping.hpp"

namespace api {

using nlohmann::json;

namespace {

constexpr size_t kMaxAliasName = 128;

ApiError bad_alias_name(std::string_view name) {
  return ApiError::invalid_parameter(fmt::format(
      "1 validation error detected: Value '{}' at 'name' failed to satisfy constraint: Member "
      "must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)",
      name));
}

// RoutingConfig.AdditionalVersionWeights, when the body has a RoutingConfig (an empty map clears
// the split).
std::expected<std::optional<std::map<std::string, double>>, ApiError> parse_weights(
    const json& body) {
  auto routing = opt_object(body, "RoutingConfig");
  if (!routing) return std::unexpected(routing.error());
  if (*routing == nullptr) return std::nullopt;
  std::map<std::string, double> weights;
  auto map = opt_object(**routing, "AdditionalVersionWeights");
  if (!map) return std::unexpected(map.error());
  if (*map == nullptr) return weights;
  for (const auto& [version, weight] : (*map)->items()) {
    if (!weight.is_number())
      return std::unexpected(
          wrong_type("RoutingConfig.AdditionalVersionWeights." + version, "a number"));
    weights[version] = weight.get<double>();
  }
  return weights;
}

}  // namespace

bool valid_alias_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxAliasName) return false;
  bool all_digits = true;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
    if (!std::isdigit(static_cast<unsigned char>(c))) all_digits = false;
  }
  return !all_digits;
}

std::string AliasApi::alias_arn(const AliasConfig& alias) const {
  return functions_.function_arn(alias.function_name) + ":" + alias.name;
}

json AliasApi::alias_json(const AliasConfig& alias) const {
  json j = {{"AliasArn", alias_arn(alias)},
            {"Name", alias.name},
            {"FunctionVersion", alias.routing.function_version},
            {"Description", alias.description},
            {"RevisionId", alias.revision_id}};
  if (alias.routing.additional_version) {
    j["RoutingConfig"] = {{"AdditionalVersionWeights",
                           {{*alias.routing.additional_version, alias.routing.additional_weight}}}};
  }
  return j;
}

ApiError AliasApi::from_catalog(const common::StoreError& error, const std::string& function,
                                const std::string& alias) const {
  ApiError api_error = to_api_error(error);
  const std::string arn = functions_.function_arn(function) + ":" + alias;
  if (error.kind == common::StoreErrorKind::AlreadyExists) {
    api_error.message = "Alias already exists: " + arn;
  } else if (error.kind == common::StoreErrorKind::NotFound) {
    // The store names what is missing: the function, one of its versions, or the alias.
    api_error.message = error.resource == function + ":" + alias
                            ? "Alias not found: " + arn
                            : function_not_found_message(functions_.function_arn(error.resource));
  }
  return api_error;
}

HttpResponse AliasApi::create(const HttpRequest& request, const std::string& id,
                              const std::string& request_id) {
  auto function = functions_.resolve_name(request, id);
  if (!function) return to_http(function.error(), request_id);
  auto build = [&]() -> std::expected<AliasConfig, ApiError> {
    auto body = parse_json_object_body(request);
    if (!body) return std::unexpected(body.error());
    auto name = opt_string(*body, "Name");
    if (!name) return std::unexpected(name.error());
    if (!*name)
      return std::unexpected(ApiError::invalid_parameter(
          "1 validation error detected: Value null at 'name' failed to satisfy constraint: "
          "Member must not be null"));
    if (!valid_alias_name(**name)) return std::unexpected(bad_alias_name(**name));
    auto version = opt_string(*body, "FunctionVersion");
    if (!version) return std::unexpected(version.error());
    if (!*version)
      return std::unexpected(ApiError::invalid_parameter(
          "1 validation error detected: Value null at 'functionVersion' failed to satisfy "
          "constraint: Member must not be null"));
    auto description = opt_string(*body, "Description");
    if (!description) return std::unexpected(description.error());
    auto weights = parse_weights(*body);
    if (!weights) return std::unexpected(weights.error());
    auto routing =
        make_alias_routing(**version, weights->value_or(std::map<std::string, double>{}));
    if (!routing) return std::unexpected(routing.error());
    return AliasConfig{.function_name = *function,
                       .name = **name,
                       .description = description->value_or(""),
                       .routing = std::move(*routing)};
  };
  auto alias = build();
  if (!alias) return to_http(alias.error(), request_id);
  const std::string alias_name = alias->name;
  auto created = catalog_.create_alias(std::move(*alias));
  if (!created) return to_http(from_catalog(created.error(), *function, alias_name), request_id);
  return json_response(201, alias_json(*created), request_id);
}

HttpResponse AliasApi::list(const HttpRequest& request, const std::string& id,
                            const std::string& request_id) {
  auto function = functions_.resolve_name(request, id);
  if (!function) return to_http(function.error(), request_id);
  auto paging = parse_list_paging(request);
  if (!paging) return to_http(paging.error(), request_id);
  std::optional<std::string> version;
  if (auto it = request.query.find("FunctionVersion"); it != request.query.end())
    version = it->second;
  auto page = catalog_.list_aliases(*function, version, paging->marker, paging->max_items);
  if (!page) return to_http(functions_.from_catalog(page.error(), *function), request_id);
  json aliases = json::array();
  for (const auto& a : page->aliases) aliases.push_back(alias_json(a));
  json out = {{"Aliases", std::move(aliases)}};
  if (page->next_marker) out["NextMarker"] = *page->next_marker;
  return json_response(200, out, request_id);
}

HttpResponse AliasApi::get(const HttpRequest& request, const std::string& id,
                           const std::string& alias, const std::string& request_id) {
  auto function = functions_.resolve_name(request, id);
  if (!function) return to_http(function.error(), request_id);
  auto found = catalog_.get_alias(*function, alias);
  if (!found) return to_http(from_catalog(found.error(), *function, alias), request_id);
  return json_response(200, alias_json(*found), request_id);
}

HttpResponse AliasApi::update(const HttpRequest& request, const std::string& id,
                              const std::string& alias, const std::string& request_id) {
  auto function = functions_.resolve_name(request, id);
  if (!function) return to_http(function.error(), request_id);
  auto body = parse_json_object_body(request);
  if (!body) return to_http(body.error(), request_id);
  auto version = opt_string(*body, "FunctionVersion");
  if (!version) return to_http(version.error(), request_id);
  auto description = opt_string(*body, "Description");
  if (!description) return to_http(description.error(), request_id);
  auto revision = opt_string(*body, "RevisionId");
  if (!revision) return to_http(revision.error(), request_id);
  auto weights = parse_weights(*body);
  if (!weights) return to_http(weights.error(), request_id);

  auto current = catalog_.get_alias(*function, alias);
  if (!current) return to_http(from_catalog(current.error(), *function, alias), request_id);
  // What the request leaves out stays as it is (a RoutingConfig without weights clears them).
  AliasConfig updated = *current;
  if (*description) updated.description = **description;
  std::map<std::string, double> kept;
  if (current->routing.additional_version)
    kept[*current->routing.additional_version] = current->routing.additional_weight;
  auto routing = make_alias_routing(version->value_or(current->routing.function_version),
                                    weights->value_or(kept));
  if (!routing) return to_http(routing.error(), request_id);
  updated.routing = std::move(*routing);
  auto saved = catalog_.update_alias(std::move(updated), *revision);
  if (!saved) return to_http(from_catalog(saved.error(), *function, alias), request_id);
  return json_response(200, alias_json(*saved), request_id);
}

HttpResponse AliasApi::remove(const HttpRequest& request, const std::string& id,
                              const std::string& alias, const std::string& request_id) {
  auto function = functions_.resolve_name(request, id);
  if (!function) return to_http(function.error(), request_id);
  auto removed = catalog_.remove_alias(*function, alias);
  if (!removed) return to_http(from_catalog(removed.error(), *function, alias), request_id);
  return no_content_response(request_id);
}

}  // namespace api
