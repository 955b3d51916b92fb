// Lambda's asynchronous invocation configuration API:
// Put/Update/Get/DeleteFunctionEventInvokeConfig at
// /2019-09-25/functions/{name}/event-invoke-config, validated here and stored by a backend.
#pragma once

#include <expected>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api/function_api.hpp"
#include "api/http_types.hpp"
#include "api/lambda_error.hpp"
#include "common/store_error.hpp"

namespace api {

struct EventInvokeConfig {
  std::optional<int> maximum_retry_attempts;  // 0-2; unset: 2
  std::optional<int> maximum_event_age_s;     // 60-21600; unset: 21600
  std::optional<std::string> on_success;      // destination ARN
  std::optional<std::string> on_failure;      // destination ARN
  double last_modified = 0;                   // epoch seconds
};

// Configs are per qualifier, as Lambda's: "$LATEST" (an unqualified call), a version or an alias;
// an invocation uses the config of the qualifier it was made with, with no fallback to another's.
class EventInvokeConfigs {
 public:
  virtual ~EventInvokeConfigs() = default;
  // nullopt: none configured. Errors are the store's; a missing function is NotFound.
  virtual std::expected<std::optional<EventInvokeConfig>, common::StoreError> get(
      const std::string& name, const std::string& qualifier) = 0;
  virtual std::expected<void, common::StoreError> put(const std::string& name,
                                                      const std::string& qualifier,
                                                      const EventInvokeConfig& config) = 0;
  virtual std::expected<void, common::StoreError> remove(const std::string& name,
                                                         const std::string& qualifier) = 0;
  // Every qualifier's config of the function, by qualifier.
  virtual std::expected<std::vector<std::pair<std::string, EventInvokeConfig>>, common::StoreError>
  list(const std::string& name) = 0;
};

// True for the ARNs runtimed can deliver to: local queues (arn:aws:sqs:…:NAME) and functions
// (arn:aws:lambda:…:function:NAME).
bool deliverable_destination(const std::string& arn);
// Whether a destination ARN names `account` (accounts are kept apart: a destination is one of the
// function's own account's queues or functions).
bool destination_in_account(const std::string& arn, std::string_view account);

class EventInvokeConfigApi {
 public:
  // `min_event_age_s` is Lambda's 60 unless the daemon lowers it for tests.
  EventInvokeConfigApi(EventInvokeConfigs& configs, FunctionApi& functions,
                       int min_event_age_s = 60)
      : configs_(configs), functions_(functions), min_event_age_s_(min_event_age_s) {}

  // /2019-09-25/functions/{name}/event-invoke-config (?Qualifier=) and …/event-invoke-config/list.
  static bool matches(const HttpRequest& request);
  HttpResponse handle(const HttpRequest& request, const std::string& request_id);

 private:
  HttpResponse list(const HttpRequest& request, const std::string& id,
                    const std::string& request_id);
  EventInvokeConfigs& configs_;
  FunctionApi& functions_;
  int min_event_age_s_;
};

}  // namespace api
