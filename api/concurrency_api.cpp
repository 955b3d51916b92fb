// Lambda's concurrency API (see concurrency_api.hpp).
#include "api/concurrency_api.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "api/function_name.hpp"
#include "api/json_body.hpp"
#include "api/json_response.hpp"
#include "api/store_error_mapping.hpp"

namespace api {

using nlohmann::json;

namespace {

constexpr std::string_view kPut = "/2017-10-31/functions/";
constexpr std::string_view kGet = "/2019-09-30/functions/";
constexpr std::string_view kSuffix = "/concurrency";

bool is_account_settings(const std::string& path) {
  return path == "/2016-08-19/account-settings" || path == "/2016-08-19/account-settings/";
}

// The {name} of a concurrency path, if the path is one.
std::optional<std::string> function_id(const std::string& path) {
  for (auto prefix : {kPut, kGet}) {
    if (path.starts_with(prefix) && path.ends_with(kSuffix) &&
        path.size() > prefix.size() + kSuffix.size()) {
      std::string id = path.substr(prefix.size(), path.size() - prefix.size() - kSuffix.size());
      if (id.find('/') == std::string::npos) return id;
    }
  }
  return std::nullopt;
}

}  // namespace

bool ConcurrencyApi::matches(const HttpRequest& request) {
  return is_account_settings(request.path) || function_id(request.path).has_value();
}

HttpResponse ConcurrencyApi::handle(const HttpRequest& request, const std::string& request_id) {
  const std::string& m = request.method;
  if (is_account_settings(request.path)) {
    if (m != "GET")
      return to_http(ApiError::unknown_operation("Unknown operation: " + m + " " + request.path),
                     request_id);
    auto s = settings_.account_settings();
    if (!s) return to_http(to_api_error(s.error()), request_id);
    nlohmann::json body{
        {"AccountLimit",
         {{"ConcurrentExecutions", s->concurrent_executions},
          {"UnreservedConcurrentExecutions", s->unreserved_concurrent_executions},
          {"CodeSizeUnzipped", kCodeSizeUnzipped},
          {"CodeSizeZipped", kCodeSizeZipped},
          {"TotalCodeSize", kTotalCodeSize}}},
        {"AccountUsage",
         {{"FunctionCount", s->function_count}, {"TotalCodeSize", s->total_code_size}}}};
    if (s->host) {
      // runtimed's own: how many environments of each size the memory budget holds (SDKs ignore
      // fields they do not know).
      nlohmann::json fit = nlohmann::json::object();
      for (int64_t mb : {128, 512, 1024, 3008, 10240})
        fit[std::to_string(mb)] =
            std::min(s->host->concurrency_limit, s->host->memory_budget_mb / mb);
      body["RuntimedHostLimits"] = {{"ConcurrencyLimit", s->host->concurrency_limit},
                                    {"MemoryBudgetMB", s->host->memory_budget_mb},
                                    {"MemoryUsedMB", s->host->memory_used_mb},
                                    {"ConcurrentExecutionsByMemoryMB", fit}};
    }
    return json_response(200, body, request_id);
  }
  const std::string id = *function_id(request.path);
  const bool put_path = request.path.starts_with(kPut);
  const bool known = (put_path && (m == "PUT" || m == "DELETE")) || (!put_path && m == "GET");
  if (!known)
    return to_http(ApiError::unknown_operation("Unknown operation: " + m + " " + request.path),
                   request_id);
  auto name = functions_.resolve_name(request, id);
  if (!name) return to_http(name.error(), request_id);
  // The settings' errors as Lambda's; the one thing missing can be the function (worded with its
  // ARN).
  auto store_failure = [&](const common::StoreError& error) {
    return to_http(functions_.from_catalog(error, *name), request_id);
  };
  if (m == "GET") {
    auto r = settings_.reserved(*name);
    if (!r) return store_failure(r.error());
    json body = json::object();
    if (*r) body["ReservedConcurrentExecutions"] = **r;
    return json_response(200, body, request_id);
  }
  if (m == "DELETE") {
    if (auto ok = settings_.delete_reserved(*name); !ok) return store_failure(ok.error());
    return no_content_response(request_id);
  }
  const auto parsed = parse_json_object_body(request);
  if (!parsed) return to_http(parsed.error(), request_id);
  const json& body = *parsed;
  auto it = body.find("ReservedConcurrentExecutions");
  if (it == body.end() || it->is_null())
    return to_http(ApiError::invalid_parameter(
                       "1 validation error detected: Value null at 'reservedConcurrentExecutions' "
                       "failed to satisfy constraint: Member must not be null"),
                   request_id);
  if (!it->is_number_integer())
    return to_http(
        ApiError::invalid_request_content("Could not parse request body into json: field "
                                          "'ReservedConcurrentExecutions' must be an integer"),
        request_id);
  const int64_t n = it->get<int64_t>();
  if (n < 0)
    return to_http(ApiError::invalid_parameter(fmt::format(
                       "1 validation error detected: Value '{}' at 'reservedConcurrentExecutions' "
                       "failed to satisfy constraint: Member must have value greater than or "
                       "equal to 0",
                       n)),
                   request_id);
  if (n > 1000000)
    return to_http(ApiError::invalid_parameter(
                       "Specified ReservedConcurrentExecutions for function decreases account's "
                       "UnreservedConcurrentExecution below its minimum value."),
                   request_id);
  if (auto ok = settings_.put_reserved(*name, static_cast<int>(n)); !ok)
    return store_failure(ok.error());
  return json_response(200, {{"ReservedConcurrentExecutions", n}}, request_id);
}

}  // namespace api
