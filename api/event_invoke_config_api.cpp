// Lambda's event-invoke-config API (see event_invoke_config_api.hpp).
#include "api/event_invoke_config_api.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "api/function_name.hpp"
#include "api/json_body.hpp"
#include "api/json_response.hpp"
#include "api/list_paging.hpp"
#include "api/store_error_mapping.hpp"

namespace api {

using nlohmann::json;

namespace {

constexpr std::string_view kPrefix = "/2019-09-25/functions/";
constexpr std::string_view kSuffix = "/event-invoke-config";
constexpr std::string_view kListSuffix = "/event-invoke-config/list";

std::optional<std::string> id_before(const std::string& path, std::string_view suffix) {
  if (!path.starts_with(kPrefix) || !path.ends_with(suffix) ||
      path.size() <= kPrefix.size() + suffix.size())
    return std::nullopt;
  std::string id = path.substr(kPrefix.size(), path.size() - kPrefix.size() - suffix.size());
  if (id.find('/') != std::string::npos) return std::nullopt;
  return id;
}

std::optional<std::string> function_id(const std::string& path) { return id_before(path, kSuffix); }

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t end = s.find(':', start);
    parts.push_back(s.substr(start, end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

std::expected<void, ApiError> check_range(std::string_view field, const json& v, int lo, int hi) {
  if (!v.is_number_integer())
    return std::unexpected(ApiError::invalid_request_content(fmt::format(
        "Could not parse request body into json: field '{}' must be an integer", field)));
  const int64_t n = v.get<int64_t>();
  if (n < lo || n > hi)
    return std::unexpected(ApiError::invalid_parameter(fmt::format(
        "1 validation error detected: Value '{}' at '{}' failed to satisfy constraint: Member "
        "must have value {} {}",
        n, field, n < lo ? "greater than or equal to" : "less than or equal to",
        n < lo ? lo : hi)));
  return {};
}

// DestinationConfig.{OnSuccess,OnFailure}: absent → untouched (nullopt); present → the ARN, or ""
// to clear it.
std::expected<std::optional<std::string>, ApiError> destination(const json& config,
                                                                const char* key) {
  auto it = config.find(key);
  if (it == config.end()) return std::nullopt;
  if (it->is_null()) return std::string();
  if (!it->is_object())
    return std::unexpected(ApiError::invalid_request_content(fmt::format(
        "Could not parse request body into json: DestinationConfig.{} must be an object", key)));
  auto d = it->find("Destination");
  if (d == it->end() || d->is_null()) return std::string();
  if (!d->is_string())
    return std::unexpected(ApiError::invalid_request_content(fmt::format(
        "Could not parse request body into json: DestinationConfig.{}.Destination must be a "
        "string",
        key)));
  const std::string arn = d->get<std::string>();
  if (!deliverable_destination(arn))
    return std::unexpected(ApiError::invalid_parameter(fmt::format(
        "The destination ARN {} is not supported by runtimed: use a local queue "
        "(arn:aws:sqs:REGION:ACCOUNT:NAME) or a function (arn:aws:lambda:REGION:ACCOUNT:function:"
        "NAME)",
        arn)));
  return arn;
}

}  // namespace

bool deliverable_destination(const std::string& arn) {
  const auto p = split(arn);
  if (p.size() < 6 || p[0] != "arn" || !p[1].starts_with("aws")) return false;
  auto name_ok = [](const std::string& n) {
    if (n.empty() || n.size() > 80) return false;
    for (char c : n)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
    return true;
  };
  if (p[2] == "sqs") return p.size() == 6 && name_ok(p[5]);
  if (p[2] == "lambda")
    return (p.size() == 7 || (p.size() == 8 && p[7] == "$LATEST")) && p[5] == "function" &&
           name_ok(p[6]) && p[6].size() <= 64;
  return false;
}

bool destination_in_account(const std::string& arn, std::string_view account) {
  const auto p = split(arn);
  return p.size() >= 6 && p[4] == account;
}

bool EventInvokeConfigApi::matches(const HttpRequest& request) {
  return function_id(request.path).has_value() || id_before(request.path, kListSuffix).has_value();
}

namespace {

json config_json(const EventInvokeConfig& c, const std::string& qualified_arn) {
  json body = {
      {"LastModified", c.last_modified},
      {"FunctionArn", qualified_arn},
      {"MaximumRetryAttempts", c.maximum_retry_attempts.value_or(2)},
      {"MaximumEventAgeInSeconds", c.maximum_event_age_s.value_or(21600)},
      {"DestinationConfig", {{"OnSuccess", json::object()}, {"OnFailure", json::object()}}}};
  if (c.on_success) body["DestinationConfig"]["OnSuccess"]["Destination"] = *c.on_success;
  if (c.on_failure) body["DestinationConfig"]["OnFailure"]["Destination"] = *c.on_failure;
  return body;
}

}  // namespace

HttpResponse EventInvokeConfigApi::list(const HttpRequest& request, const std::string& id,
                                        const std::string& request_id) {
  auto fail = [&](const ApiError& e) { return to_http(e, request_id); };
  if (request.method != "GET")
    return fail(
        ApiError::unknown_operation("Unknown operation: " + request.method + " " + request.path));
  auto name = functions_.resolve_name(request, id);
  if (!name) return fail(name.error());
  auto paging = parse_list_paging(request);
  if (!paging) return fail(paging.error());
  auto configs = configs_.list(*name);
  if (!configs) return fail(functions_.from_catalog(configs.error(), *name));
  auto page = index_page(*paging, configs->size());
  if (!page) return fail(page.error());
  json items = json::array();
  for (size_t i = page->begin; i < page->end; ++i) {
    const auto& [qualifier, c] = (*configs)[i];
    items.push_back(config_json(c, functions_.function_arn(*name) + ":" + qualifier));
  }
  json body = {{"FunctionEventInvokeConfigs", std::move(items)}};
  if (page->next_marker) body["NextMarker"] = *page->next_marker;
  return json_response(200, body, request_id);
}

HttpResponse EventInvokeConfigApi::handle(const HttpRequest& request,
                                          const std::string& request_id) {
  const std::string& m = request.method;
  if (m != "GET" && m != "PUT" && m != "POST" && m != "DELETE")
    return to_http(ApiError::unknown_operation("Unknown operation: " + m + " " + request.path),
                   request_id);
  if (auto list_id = id_before(request.path, kListSuffix))
    return list(request, *list_id, request_id);
  auto function = functions_.resolve_qualified(request, *function_id(request.path));
  if (!function) return to_http(function.error(), request_id);
  const std::string* name = &function->name;
  const std::string qualifier = function->qualifier.value_or("$LATEST");
  const std::string arn = functions_.function_arn(*name) + ":" + qualifier;
  auto fail = [&](const ApiError& e) { return to_http(e, request_id); };
  // The version or alias must exist (404 names it).
  if (auto exists = functions_.configuration_of(*function); !exists) return fail(exists.error());
  // The configs' errors as Lambda's; the one thing missing can be the function (worded with its
  // ARN).
  auto store_failure = [&](const common::StoreError& error) {
    return fail(functions_.from_catalog(error, *name));
  };
  auto answer = [&](const EventInvokeConfig& c) {
    return json_response(200, config_json(c, arn), request_id);
  };
  auto existing = configs_.get(*name, qualifier);
  if (!existing) return store_failure(existing.error());
  auto no_config = [&] {
    return fail(
        ApiError::not_found(fmt::format("The function {} doesn't have an EventInvokeConfig", arn)));
  };
  if (m == "GET") return *existing ? answer(**existing) : no_config();
  if (m == "DELETE") {
    if (!*existing) return no_config();
    if (auto ok = configs_.remove(*name, qualifier); !ok) return store_failure(ok.error());
    return no_content_response(request_id);
  }
  // PUT replaces the whole configuration; POST (Update) changes only what it names.
  if (m == "POST" && !*existing) return no_config();
  const auto parsed = parse_json_object_body(request);
  if (!parsed) return fail(parsed.error());
  const json& body = *parsed;
  EventInvokeConfig c = m == "POST" ? **existing : EventInvokeConfig{};
  if (auto it = body.find("MaximumRetryAttempts"); it != body.end() && !it->is_null()) {
    if (auto ok = check_range("maximumRetryAttempts", *it, 0, 2); !ok) return fail(ok.error());
    c.maximum_retry_attempts = it->get<int>();
  }
  if (auto it = body.find("MaximumEventAgeInSeconds"); it != body.end() && !it->is_null()) {
    if (auto ok = check_range("maximumEventAgeInSeconds", *it, min_event_age_s_, 21600); !ok)
      return fail(ok.error());
    c.maximum_event_age_s = it->get<int>();
  }
  if (auto it = body.find("DestinationConfig"); it != body.end() && !it->is_null()) {
    if (!it->is_object())
      return fail(ApiError::invalid_request_content(
          "Could not parse request body into json: DestinationConfig must be an object"));
    for (auto [key, field] :
         {std::pair{"OnSuccess", &c.on_success}, std::pair{"OnFailure", &c.on_failure}}) {
      auto d = destination(*it, key);
      if (!d) return fail(d.error());
      if (*d && !(*d)->empty() && !destination_in_account(**d, functions_.account_of(*name)))
        return fail(ApiError::invalid_parameter(fmt::format(
            "The destination ARN {} is another account's: runtimed keeps accounts apart, so a "
            "destination is one of the function's own account",
            **d)));
      if (*d) *field = (*d)->empty() ? std::nullopt : std::optional<std::string>(**d);
    }
  }
  c.last_modified =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  if (auto ok = configs_.put(*name, qualifier, c); !ok) return store_failure(ok.error());
  return answer(c);
}

}  // namespace api
