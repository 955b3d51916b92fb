// The /runtimed/v1/stacks endpoints (see stack_routes.hpp).
#include "runtimed/stack_routes.hpp"

#include <cctype>
#include <chrono>
#include <nlohmann/json.hpp>

#include "api/function_name.hpp"
#include "api/json_response.hpp"
#include "api/lambda_error.hpp"
#include "common/account_scope.hpp"

namespace runtimed {

namespace {

constexpr std::string_view kPrefix = "/runtimed/v1/stacks";

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

nlohmann::json describe(const StackRecord& r) {
  auto record = nlohmann::json::parse(r.record, nullptr, /*allow_exceptions=*/false);
  return {{"StackName", common::display_name(r.name)},
          {"LastUpdatedMs", r.updated_ms},
          {"Record", std::move(record)}};
}

}  // namespace

bool valid_stack_name(const std::string& name) {
  if (name.empty() || name.size() > 128 || !std::isalpha(static_cast<unsigned char>(name[0])))
    return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
  }
  return true;
}

api::HttpResponse StackRoutes::handle(const api::HttpRequest& request,
                                      const std::string& request_id) {
  auto fail = [&](const api::ApiError& e) { return api::to_http(e, request_id); };
  std::string rest = request.path.substr(std::min(request.path.size(), kPrefix.size()));
  if (rest == "/") rest.clear();
  if (rest.empty()) {
    if (request.method != "GET")
      return fail(api::ApiError::unknown_operation(request.method + " " + request.path));
    auto all = stacks_.list();
    if (!all) return fail(api::ApiError::service(all.error()));
    nlohmann::json items = nlohmann::json::array();
    for (const auto& r : *all)
      if (common::in_account(r.name, request.account)) items.push_back(describe(r));
    // The caller's account: the deployer makes its ARNs from it.
    return api::json_response(200,
                              {{"Stacks", std::move(items)},
                               {"Region", host_.region},
                               {"AccountId", api::caller_identity(host_, request).account_id}},
                              request_id);
  }
  const std::string bare_name = rest.substr(1);
  if (!valid_stack_name(bare_name)) {
    return fail(api::ApiError::invalid_parameter(
        "Stack name '" + bare_name +
        "' must start with a letter and hold only letters, digits and '-' (at most 128)"));
  }
  const std::string name = common::scoped_name(request.account, bare_name);
  if (request.method == "PUT") {
    auto record = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
    if (!record.is_object() || !record.contains("Resources") || !record["Resources"].is_object())
      return fail(api::ApiError::invalid_request_content(
          "A stack record is a JSON object with a \"Resources\" object"));
    const int64_t updated = now_ms();
    if (auto ok = stacks_.put(name, record.dump(), updated); !ok)
      return fail(api::ApiError::service(ok.error()));
    return api::json_response(200, describe({name, record.dump(), updated}), request_id);
  }
  if (request.method == "GET") {
    auto r = stacks_.get(name);
    if (!r) return fail(api::ApiError::service(r.error()));
    if (!*r) return fail(api::ApiError::not_found("Stack not found: " + bare_name));
    return api::json_response(200, describe(**r), request_id);
  }
  if (request.method == "DELETE") {
    auto removed = stacks_.remove(name);
    if (!removed) return fail(api::ApiError::service(removed.error()));
    if (!*removed) return fail(api::ApiError::not_found("Stack not found: " + bare_name));
    return api::no_content_response(request_id);
  }
  return fail(api::ApiError::unknown_operation(request.method + " " + request.path));
}

}  // namespace runtimed
