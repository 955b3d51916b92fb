// Lambda's provisioned concurrency API: Put/Get/DeleteProvisionedConcurrencyConfig and
// ListProvisionedConcurrencyConfigs, over a backend that stores the configs and reports how many
// environments the controller keeps initialized for each.
#pragma once

#include <expected>
#include <optional>
#include <string>
#include <vector>

#include "api/function_api.hpp"
#include "api/http_types.hpp"
#include "common/store_error.hpp"

namespace api {

struct ProvisionedConcurrencyConfig {
  std::string qualifier;  // a published version or an alias
  int requested = 0;
  std::string last_modified;  // Lambda's timestamp
};

// What the controller has for one config now.
struct ProvisionedAllocation {
  int allocated = 0;    // environments initialized and kept
  std::string failure;  // why it stopped trying ("" while it has not failed)
};

class ProvisionedConcurrencySettings {
 public:
  virtual ~ProvisionedConcurrencySettings() = default;
  virtual std::expected<std::optional<ProvisionedConcurrencyConfig>, common::StoreError>
  get_provisioned(const std::string& name, const std::string& qualifier) = 0;
  virtual std::expected<std::vector<ProvisionedConcurrencyConfig>, common::StoreError>
  list_provisioned(const std::string& name) = 0;
  // `version`: the version `qualifier` stands for (itself, or the alias's). Refuses
  // (InvalidValue) more than the function's reservation or the unreserved pool leaves, and
  // (Conflict) a config on an alias and on the version it points to at once.
  virtual std::expected<ProvisionedConcurrencyConfig, common::StoreError> put_provisioned(
      const std::string& name, const std::string& qualifier, const std::string& version,
      int requested) = 0;
  // False when there was none.
  virtual std::expected<bool, common::StoreError> delete_provisioned(
      const std::string& name, const std::string& qualifier) = 0;
  virtual ProvisionedAllocation allocation(const std::string& name,
                                           const std::string& qualifier) = 0;
};

class ProvisionedConcurrencyApi {
 public:
  ProvisionedConcurrencyApi(ProvisionedConcurrencySettings& settings, FunctionApi& functions)
      : settings_(settings), functions_(functions) {}

  // /2019-09-30/functions/{name}/provisioned-concurrency: GET (?Qualifier=, or ?List=ALL),
  // PUT and DELETE (?Qualifier=).
  HttpResponse handle(const HttpRequest& request, const std::string& id,
                      const std::string& request_id);

 private:
  ProvisionedConcurrencySettings& settings_;
  FunctionApi& functions_;
};

}  // namespace api
