// Lambda's concurrency API: Put/Get/DeleteFunctionConcurrency and GetAccountSettings, over a
// ConcurrencySettings backend (the daemon stores reservations and applies them at admission).
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>

#include "api/function_api.hpp"
#include "api/http_types.hpp"
#include "api/lambda_error.hpp"
#include "common/store_error.hpp"

namespace api {

inline constexpr int64_t kCodeSizeUnzipped = 262144000;
inline constexpr int64_t kCodeSizeZipped = 52428800;
inline constexpr int64_t kTotalCodeSize = 80530636800;

// What this host enforces, beside Lambda's fields (GetAccountSettings' RuntimedHostLimits).
struct HostLimits {
  int64_t concurrency_limit = 0;  // --concurrency-limit, as admission enforces it
  int64_t memory_budget_mb = 0;   // environments' memory in all (--memory-budget-mb)
  int64_t memory_used_mb = 0;
};

struct AccountSettings {
  // The most invocations that can run at once: the concurrency limit, and no more environments
  // than the memory budget holds at the smallest memory size.
  int64_t concurrent_executions = 0;
  int64_t unreserved_concurrent_executions = 0;
  int64_t function_count = 0;
  int64_t total_code_size = 0;
  std::optional<HostLimits> host;
};

// Names are plain function names; errors are the store's. A missing function is NotFound (the API
// words its message).
class ConcurrencySettings {
 public:
  virtual ~ConcurrencySettings() = default;
  virtual std::expected<std::optional<int>, common::StoreError> reserved(
      const std::string& name) = 0;
  // Refuses (InvalidValue) a reservation that leaves too little unreserved.
  virtual std::expected<void, common::StoreError> put_reserved(const std::string& name,
                                                               int reserved) = 0;
  virtual std::expected<void, common::StoreError> delete_reserved(const std::string& name) = 0;
  virtual std::expected<AccountSettings, common::StoreError> account_settings() = 0;
};

class ConcurrencyApi {
 public:
  ConcurrencyApi(ConcurrencySettings& settings, const FunctionApi& functions)
      : settings_(settings), functions_(functions) {}

  // /2017-10-31/functions/{n}/concurrency, /2019-09-30/functions/{n}/concurrency,
  // /2016-08-19/account-settings[/].
  static bool matches(const HttpRequest& request);
  HttpResponse handle(const HttpRequest& request, const std::string& request_id);

 private:
  ConcurrencySettings& settings_;
  const FunctionApi& functions_;
};

}  // namespace api
