// Per-function settings kept beside the configuration in the state database: reserved concurrency
// (checked against the account's unreserved minimum) and the asynchronous invocation config.
#pragma once

#include <cstddef>
#include <expected>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api/concurrency_api.hpp"
#include "api/event_invoke_config_api.hpp"
#include "api/provisioned_concurrency_api.hpp"
#include "common/store_error.hpp"
#include "runtimed/store/function_store.hpp"

namespace runtimed {

class FunctionSettings final : public api::ConcurrencySettings,
                               public api::EventInvokeConfigs,
                               public api::ProvisionedConcurrencySettings {
 public:
  FunctionSettings(FunctionStore& functions, size_t concurrency_limit, size_t min_unreserved)
      : functions_(functions), limit_(concurrency_limit), min_unreserved_(min_unreserved) {}

  std::expected<std::optional<int>, common::StoreError> reserved(const std::string& name) override;
  std::expected<void, common::StoreError> put_reserved(const std::string& name,
                                                       int reserved) override;
  std::expected<void, common::StoreError> delete_reserved(const std::string& name) override;
  std::expected<api::AccountSettings, common::StoreError> account_settings() override;

  std::expected<std::optional<api::EventInvokeConfig>, common::StoreError> get(
      const std::string& name, const std::string& qualifier) override;
  std::expected<void, common::StoreError> put(const std::string& name, const std::string& qualifier,
                                              const api::EventInvokeConfig& config) override;
  std::expected<void, common::StoreError> remove(const std::string& name,
                                                 const std::string& qualifier) override;
  std::expected<std::vector<std::pair<std::string, api::EventInvokeConfig>>, common::StoreError>
  list(const std::string& name) override;

  std::expected<std::optional<api::ProvisionedConcurrencyConfig>, common::StoreError>
  get_provisioned(const std::string& name, const std::string& qualifier) override;
  std::expected<std::vector<api::ProvisionedConcurrencyConfig>, common::StoreError>
  list_provisioned(const std::string& name) override;
  std::expected<api::ProvisionedConcurrencyConfig, common::StoreError> put_provisioned(
      const std::string& name, const std::string& qualifier, const std::string& version,
      int requested) override;
  std::expected<bool, common::StoreError> delete_provisioned(const std::string& name,
                                                             const std::string& qualifier) override;
  api::ProvisionedAllocation allocation(const std::string& name,
                                        const std::string& qualifier) override {
    return provisioned_allocation ? provisioned_allocation(name, qualifier)
                                  : api::ProvisionedAllocation{};
  }

  // Every reservation, to seed the controller at startup.
  std::expected<std::map<std::string, int>, std::string> all_reserved();
  // Every provisioned concurrency config as (name, qualifier) → requested, likewise.
  std::expected<std::map<std::pair<std::string, std::string>, int>, std::string> all_provisioned();

  // The host's enforced limits (the controller's admission), read for GetAccountSettings; unset,
  // the account's limit is the concurrency limit alone.
  std::function<api::HostLimits()> host_limits;

  // What the controller keeps for a config now (Get's Status and counts).
  std::function<api::ProvisionedAllocation(const std::string& name, const std::string& qualifier)>
      provisioned_allocation;
  // Called after a provisioned concurrency config changes (0: deleted), so the controller follows.
  std::function<void(const std::string& name, const std::string& qualifier, int requested)>
      on_provisioned_changed;

  // Called after a reservation changes (nullopt: removed), so admission follows it.
  std::function<void(const std::string& name, std::optional<int> reserved)> on_reserved_changed;

 private:
  std::expected<void, common::StoreError> require_function(const std::string& name);

  FunctionStore& functions_;
  size_t limit_;
  size_t min_unreserved_;
};

}  // namespace runtimed
