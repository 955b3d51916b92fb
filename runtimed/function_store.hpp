// The daemon's FunctionCatalog: configurations in the state database, code in the CodeStore.
#pragma once

#include <expected>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "api/function_catalog.hpp"
#include "runtimed/code_store.hpp"
#include "runtimed/state_db.hpp"

namespace runtimed {

class FunctionStore final : public api::FunctionCatalog {
 public:
  // The database at <state_dir>/runtimed.db, code under <state_dir>/code/.
  static std::expected<std::unique_ptr<FunctionStore>, std::string> open(
      const std::filesystem::path& state_dir, CodeLimits limits = {});
  FunctionStore(std::unique_ptr<StateDb> db, std::unique_ptr<CodeStore> code);

  std::expected<common::FunctionConfig, api::ApiError> create(
      api::CreateFunctionRequest request) override;
  std::expected<common::FunctionConfig, api::ApiError> get(const std::string& name) override;
  std::expected<api::FunctionPage, api::ApiError> list(const std::optional<std::string>& marker,
                                                       int max_items) override;
  std::expected<common::FunctionConfig, api::ApiError> update_code(
      const std::string& name, std::string zip,
      const std::optional<std::string>& expected_revision_id) override;
  std::expected<common::FunctionConfig, api::ApiError> update_configuration(
      const std::string& name, const api::ConfigurationPatch& patch,
      const std::optional<std::string>& expected_revision_id) override;
  std::expected<void, api::ApiError> remove(const std::string& name) override;
  std::filesystem::path code_dir(const common::FunctionConfig& config) const override;

  StateDb& db() { return *db_; }
  CodeStore& code() { return *code_; }

 private:
  std::expected<common::FunctionConfig, api::ApiError> load(const std::string& name);
  std::expected<void, api::ApiError> save(const common::FunctionConfig& config);
  std::expected<common::FunctionConfig, api::ApiError> store_code(common::FunctionConfig config,
                                                                  std::string_view zip);
  void collect_garbage();
  void notify(const std::string& name);

  std::unique_ptr<StateDb> db_;
  std::unique_ptr<CodeStore> code_;
  // Serializes changes, so garbage collection never sees code whose row is not yet written.
  std::mutex change_mutex_;
};

}  // namespace runtimed
