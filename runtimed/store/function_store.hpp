// The daemon's FunctionCatalog: configurations in the state database, code in the CodeStore.
#pragma once

#include <expected>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "api/version_catalog.hpp"
#include "common/store_error.hpp"
#include "runtimed/store/code_store.hpp"
#include "runtimed/store/state_db.hpp"

namespace runtimed {

class FunctionStore final : public api::VersionCatalog {
 public:
  // The database at <state_dir>/runtimed.db, code under <state_dir>/code/.
  static std::expected<std::unique_ptr<FunctionStore>, std::string> open(
      const std::filesystem::path& state_dir, CodeLimits limits = {});
  FunctionStore(std::unique_ptr<StateDb> db, std::unique_ptr<CodeStore> code);

  std::expected<common::FunctionConfig, common::StoreError> create(
      api::CreateFunctionRequest request) override;
  std::expected<common::FunctionConfig, common::StoreError> get(const std::string& name) override;
  std::expected<api::FunctionPage, common::StoreError> list(
      const std::optional<std::string>& marker, int max_items) override;
  std::expected<common::FunctionConfig, common::StoreError> update_code(
      const std::string& name, std::string zip,
      const std::optional<std::string>& expected_revision_id) override;
  std::expected<common::FunctionConfig, common::StoreError> update_configuration(
      const std::string& name, const api::ConfigurationPatch& patch,
      const std::optional<std::string>& expected_revision_id) override;
  std::expected<common::FunctionConfig, common::StoreError> update_tags(
      const std::string& name, const std::map<std::string, std::string>& set,
      const std::vector<std::string>& remove) override;
  std::expected<void, common::StoreError> remove(const std::string& name) override;
  std::filesystem::path code_dir(const common::FunctionConfig& config) const override;

  std::expected<common::FunctionConfig, common::StoreError> publish_version(
      const std::string& name, const std::optional<std::string>& expected_sha256,
      const std::optional<std::string>& expected_revision_id,
      const std::optional<std::string>& description) override;
  std::expected<common::FunctionConfig, common::StoreError> get_version(
      const std::string& name, const std::string& version) override;
  std::expected<api::FunctionPage, common::StoreError> list_versions(
      const std::string& name, const std::optional<std::string>& marker, int max_items) override;
  std::expected<void, common::StoreError> remove_version(const std::string& name,
                                                         const std::string& version) override;

  std::expected<api::AliasConfig, common::StoreError> create_alias(api::AliasConfig alias) override;
  std::expected<api::AliasConfig, common::StoreError> get_alias(const std::string& function,
                                                                const std::string& alias) override;
  std::expected<api::AliasPage, common::StoreError> list_aliases(
      const std::string& function, const std::optional<std::string>& function_version,
      const std::optional<std::string>& marker, int max_items) override;
  std::expected<api::AliasConfig, common::StoreError> update_alias(
      api::AliasConfig alias, const std::optional<std::string>& expected_revision_id) override;
  std::expected<void, common::StoreError> remove_alias(const std::string& function,
                                                       const std::string& alias) override;
  std::expected<api::AliasRouting, common::StoreError> alias_routing(
      const std::string& name, const std::string& alias) override;

  std::shared_ptr<void> hold_code(const common::FunctionConfig& config) override;

  StateDb& db() { return *db_; }
  CodeStore& code() { return *code_; }

 private:
  // Whether a change is a new revision (RevisionId, LastModified) or, like tagging, is not.
  enum class Stamp { NewRevision, Keep };
  // Loads NAME, checks the revision, applies `mutate`, stamps and saves, then notifies: the one
  // path of every update.
  std::expected<common::FunctionConfig, common::StoreError> change(
      const std::string& name, const std::optional<std::string>& expected_revision_id,
      const std::function<std::expected<void, common::StoreError>(common::FunctionConfig&)>& mutate,
      Stamp stamp = Stamp::NewRevision);
  // With change_mutex_ held: the cached configuration, else the row (then cached).
  std::expected<common::FunctionConfig, common::StoreError> load(const std::string& name);
  std::expected<void, common::StoreError> save(const common::FunctionConfig& config);
  std::expected<common::FunctionConfig, common::StoreError> store_code(
      common::FunctionConfig config, std::string_view zip);
  // Removes code no function references and nothing holds; caller holds change_mutex_.
  void collect_garbage();
  void release_code(const std::string& key);
  void notify(const std::string& name);
  // Loads every alias into aliases_ (at open: the invoke path never reads them from the database).
  void load_aliases();
  // With change_mutex_ held: each version of `routing` exists (NotFound names the first missing).
  std::expected<void, common::StoreError> check_versions_exist(const std::string& name,
                                                               const api::AliasRouting& routing);
  std::expected<void, common::StoreError> save_alias(const api::AliasConfig& alias);
  // With change_mutex_ held: the alias, else NotFound for it (or for its function).
  std::expected<api::AliasConfig, common::StoreError> find_alias(const std::string& function,
                                                                 const std::string& alias);

  std::unique_ptr<StateDb> db_;
  std::unique_ptr<CodeStore> code_;
  // Serializes changes, so garbage collection never sees code whose row is not yet written.
  std::mutex change_mutex_;
  // Configurations read so far, kept in step by save() and remove() (both under change_mutex_),
  // so invocations and event acceptance never wait on the database for them.
  std::shared_mutex cache_mutex_;
  std::mutex holds_mutex_;
  std::map<std::string, int> code_holds_;  // code_dir_key -> live hold_code() handles
  std::unordered_map<std::string, common::FunctionConfig> cache_;
  // Every alias, by (function, alias): written under change_mutex_ and cache_mutex_.
  std::map<std::pair<std::string, std::string>, api::AliasConfig> aliases_;
};

}  // namespace runtimed
