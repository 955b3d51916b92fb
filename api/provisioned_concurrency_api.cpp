// Lambda's provisioned concurrency API (see provisioned_concurrency_api.hpp).
#include "api/provisioned_concurrency_api.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "api/function_name.hpp"
#include "api/json_body.hpp"
#include "api/json_response.hpp"
#include "api/list_paging.hpp"

namespace api {

using nlohmann::json;

namespace {

ApiError config_not_found() {
  return ApiError{ApiErrorType::ProvisionedConcurrencyConfigNotFound,
                  "No Provisioned Concurrency Config found for this function"};
}

// The fields Put, Get and List answer with; Status from what the controller has so far.
json config_json(const ProvisionedConcurrencyConfig& config, const ProvisionedAllocation& now) {
  std::string status = "IN_PROGRESS";
  if (!now.failure.empty())
    status = "FAILED";
  else if (now.allocated >= config.requested)
    status = "READY";
  json out = {{"RequestedProvisionedConcurrentExecutions", config.requested},
              {"AvailableProvisionedConcurrentExecutions", now.allocated},
              {"AllocatedProvisionedConcurrentExecutions", now.allocated},
              {"Status", status},
              {"LastModified", config.last_modified}};
  if (!now.failure.empty()) out["StatusReason"] = now.failure;
  return out;
}

}  // namespace

HttpResponse ProvisionedConcurrencyApi::handle(const HttpRequest& request, const std::string& id,
                                               const std::string& request_id) {
  const std::string& m = request.method;
  auto fail = [&](const ApiError& e) { return to_http(e, request_id); };
  auto function = functions_.resolve_qualified(request, id);
  if (!function) return fail(function.error());
  const std::string& name = function->name;
  auto store_failure = [&](const common::StoreError& e) {
    return fail(functions_.from_catalog(e, name));
  };

  if (m == "GET" && request.query_param("List") == "ALL") {
    if (auto exists = functions_.configuration_of({name, std::nullopt}); !exists)
      return fail(exists.error());
    auto paging = parse_list_paging(request);
    if (!paging) return fail(paging.error());
    auto configs = settings_.list_provisioned(name);
    if (!configs) return store_failure(configs.error());
    auto page = index_page(*paging, configs->size());
    if (!page) return fail(page.error());
    json list = json::array();
    for (size_t i = page->begin; i < page->end; ++i) {
      const auto& c = (*configs)[i];
      json item = config_json(c, settings_.allocation(name, c.qualifier));
      item["FunctionArn"] = functions_.function_arn(name) + ":" + c.qualifier;
      list.push_back(std::move(item));
    }
    json body = {{"ProvisionedConcurrencyConfigs", std::move(list)}};
    if (page->next_marker) body["NextMarker"] = *page->next_marker;
    return json_response(200, body, request_id);
  }
  if (m != "GET" && m != "PUT" && m != "DELETE")
    return fail(ApiError::unknown_operation("Unknown operation: " + m + " " + request.path));

  if (!function->qualifier || function->qualifier->empty())
    return fail(ApiError::invalid_parameter(
        "1 validation error detected: Value null at 'qualifier' failed to satisfy constraint: "
        "Member must not be null"));
  const std::string& qualifier = *function->qualifier;
  if (qualifier == "$LATEST")
    return fail(ApiError::invalid_parameter(
        "Provisioned Concurrency Configs cannot be applied to unpublished function versions."));
  // The version or alias must exist (404 names the qualified ARN); an alias stands for its version.
  auto config = functions_.configuration_of(*function);
  if (!config) return fail(config.error());

  if (m == "GET") {
    auto found = settings_.get_provisioned(name, qualifier);
    if (!found) return store_failure(found.error());
    if (!*found) return fail(config_not_found());
    return json_response(200, config_json(**found, settings_.allocation(name, qualifier)),
                         request_id);
  }
  if (m == "DELETE") {
    auto deleted = settings_.delete_provisioned(name, qualifier);
    if (!deleted) return store_failure(deleted.error());
    if (!*deleted) return fail(config_not_found());
    return no_content_response(request_id);
  }
  const auto body = parse_json_object_body(request);
  if (!body) return fail(body.error());
  auto requested = opt_int(*body, "ProvisionedConcurrentExecutions");
  if (!requested) return fail(requested.error());
  if (!*requested)
    return fail(ApiError::invalid_parameter(
        "1 validation error detected: Value null at 'provisionedConcurrentExecutions' failed to "
        "satisfy constraint: Member must not be null"));
  if (**requested < 1 || **requested > 1000000)
    return fail(ApiError::invalid_parameter(
        fmt::format("1 validation error detected: Value '{}' at 'provisionedConcurrentExecutions' "
                    "failed to satisfy constraint: Member must have value greater than or equal "
                    "to 1",
                    **requested)));
  auto stored =
      settings_.put_provisioned(name, qualifier, config->version, static_cast<int>(**requested));
  if (!stored) return store_failure(stored.error());
  return json_response(202, config_json(*stored, settings_.allocation(name, qualifier)),
                       request_id);
}

}  // namespace api
