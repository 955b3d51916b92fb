// HTTP triggers kept durably in the state database: Function URL configs (per function and
// qualifier, each with a random url id) and HTTP APIs (a name, an id and its routes). Every row is
// also kept in memory, so the HTTP listener finds a request's target without the database.
#pragma once

#include <expected>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "api/http_route_match.hpp"
#include "common/store_error.hpp"
#include "runtimed/store/state_db.hpp"

namespace runtimed {

struct FunctionUrlConfig {
  std::string function;
  std::string qualifier;  // an alias, or "" for the unqualified function ($LATEST)
  std::string url_id;     // 32 lowercase letters and digits, as Lambda's
  std::string auth_type;  // "NONE" or "AWS_IAM"
  nlohmann::json cors;    // Lambda's Cors object, or null
  std::string invoke_mode = "BUFFERED";
  std::string creation_time;  // lambda_timestamp()
  std::string last_modified_time;
};

struct HttpApiRoute {
  std::string route_key;  // "GET /items/{id}", "ANY /{proxy+}", "$default"
  std::string function;
  std::string qualifier;  // "" for $LATEST
  std::string function_arn;
  // API Gateway's integration timeout: past it the client gets 503 while the function runs on.
  int timeout_ms = api::kMaxIntegrationTimeoutMs;
};

struct HttpApi {
  std::string name;
  std::string api_id;  // 10 lowercase letters and digits, as API Gateway's
  std::vector<HttpApiRoute> routes;
  std::vector<std::string> route_keys;  // routes' keys in the same order (for matching)
  nlohmann::json cors;                  // API Gateway's CorsConfiguration, or null
  std::string created_date;
};

class HttpTriggerStore {
 public:
  // Loads every row into memory.
  static std::expected<std::unique_ptr<HttpTriggerStore>, std::string> open(StateDb& db);

  // Inserts a new config (its url id drawn here); Conflict when the function and qualifier have
  // one.
  std::expected<FunctionUrlConfig, common::StoreError> create_url(FunctionUrlConfig config);
  std::expected<FunctionUrlConfig, common::StoreError> update_url(const FunctionUrlConfig& config);
  std::optional<FunctionUrlConfig> url(const std::string& function, const std::string& qualifier);
  std::optional<FunctionUrlConfig> url_by_id(const std::string& url_id);
  std::vector<FunctionUrlConfig> urls_of(const std::string& function);
  // True when one was removed.
  std::expected<bool, common::StoreError> remove_url(const std::string& function,
                                                     const std::string& qualifier);

  // Creates or replaces the API of that name, keeping its id when it exists.
  std::expected<std::shared_ptr<const HttpApi>, common::StoreError> put_api(HttpApi api);
  std::shared_ptr<const HttpApi> api(const std::string& name);
  std::shared_ptr<const HttpApi> api_by_id(const std::string& api_id);
  std::vector<std::shared_ptr<const HttpApi>> apis();
  std::expected<bool, common::StoreError> remove_api(const std::string& name);

 private:
  explicit HttpTriggerStore(StateDb& db) : db_(db) {}
  std::expected<void, common::StoreError> load();
  std::expected<void, common::StoreError> save_url(const FunctionUrlConfig& config);

  StateDb& db_;
  std::shared_mutex mu_;
  std::map<std::pair<std::string, std::string>, FunctionUrlConfig> urls_;  // (function, qualifier)
  std::map<std::string, std::pair<std::string, std::string>> url_ids_;     // url id -> key above
  std::map<std::string, std::shared_ptr<const HttpApi>> apis_;             // by name
  std::map<std::string, std::string> api_ids_;                             // api id -> name
};

}  // namespace runtimed
