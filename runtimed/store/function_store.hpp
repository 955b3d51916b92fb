// The daemon's FunctionCatalog: configurations in the state database, code in the CodeStore.
#pragma once

#include <expected>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "api/layer_catalog.hpp"
#include "api/version_catalog.hpp"
#include "common/store_error.hpp"
#include "runtimed/store/code_store.hpp"
#include "runtimed/store/shared_code.hpp"
#include "runtimed/store/state_db.hpp"

namespace runtimed {

class FunctionStore final : public api::VersionCatalog, public api::LayerCatalog {
 public:
  // The database at <state_dir>/runtimed.db, code under <state_dir>/code/.
  static std::expected<std::unique_ptr<FunctionStore>, std::string> open(
      const std::filesystem::path& state_dir, CodeLimits limits = {});
  FunctionStore(std::unique_ptr<StateDb> db, std::unique_ptr<CodeStore> code);
  // Cluster mode: the catalog in the shared database `db`; code zips shared through
  // `shared_code` (which must outlive the store).
  FunctionStore(std::unique_ptr<StateDb> db, std::unique_ptr<CodeStore> code,
                SharedCode& shared_code);

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
  std::filesystem::path layer_dir(const common::LayerRef& layer) const override;

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

  std::expected<api::LayerVersion, common::StoreError> publish_layer_version(
      api::LayerVersion layer, std::string zip) override;
  std::expected<api::LayerVersion, common::StoreError> get_layer_version(const std::string& name,
                                                                         int64_t version) override;
  std::expected<api::LayerVersionPage, common::StoreError> list_layer_versions(
      const std::string& name, const std::optional<std::string>& compatible_runtime,
      const std::optional<std::string>& marker, int max_items) override;
  std::expected<api::LayerVersionPage, common::StoreError> list_layers(
      const std::optional<std::string>& compatible_runtime,
      const std::optional<std::string>& marker, int max_items) override;
  std::expected<void, common::StoreError> remove_layer_version(const std::string& name,
                                                               int64_t version) override;

  StateDb& db() { return *db_; }
  CodeStore& code() { return *code_; }

  // Another node changed the catalog (cluster mode): what this store cached of it goes, and the
  // listeners hear of it as of a change made here. `table` and `row` are the change's, from the
  // database's trigger.
  void changed_elsewhere(const std::string& table, const nlohmann::json& row);
  // Anything may have changed elsewhere (the change feed was lost): drops every cached
  // configuration and reloads the aliases.
  void resync();
  // Called after a reservation or provisioned concurrency config changed on another node.
  std::function<void(const std::string& name)> on_reserved_changed_elsewhere;
  std::function<void(const std::string& name, const std::string& qualifier)>
      on_provisioned_changed_elsewhere;

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
  // Writes `config` as a new function (`replacing` nullopt) or over the revision `replacing`:
  // false when another node made that function, or changed or deleted it, meanwhile.
  std::expected<bool, common::StoreError> save(const common::FunctionConfig& config,
                                               const std::optional<std::string>& replacing);
  void forget_cached(const std::string& name);
  std::expected<common::FunctionConfig, common::StoreError> store_code(
      common::FunctionConfig config, std::string_view zip);
  // Removes code no function references and nothing holds; caller holds change_mutex_.
  void collect_garbage();
  void release_code(const std::string& key);
  void notify(const std::string& name);
  // Fills each of config's layers from its layer version (InvalidValue when one does not exist)
  // and checks that code and layers unzipped stay within the unzipped-size limit.
  std::expected<void, common::StoreError> resolve_layers(common::FunctionConfig& config);
  // Loads every alias (or `function`'s) into aliases_ (at open: the invoke path never reads them
  // from the database).
  void load_aliases(const std::optional<std::string>& function = std::nullopt);
  // One attempt of publish_version: Conflict when another node took the number or changed
  // $LATEST since it was read.
  std::expected<common::FunctionConfig, common::StoreError> publish_version_once(
      const std::string& name, const std::optional<std::string>& expected_sha256,
      const std::optional<std::string>& expected_revision_id,
      const std::optional<std::string>& description);
  // The function's row as stored, uncached, its code not fetched.
  std::expected<common::FunctionConfig, common::StoreError> read_config(const std::string& name);
  // Cluster mode: unpacks the code under `key` from the shared code when this node lacks it.
  std::expected<void, common::StoreError> ensure_local_code(const std::string& key);
  std::expected<void, common::StoreError> ensure_local_code(const common::FunctionConfig& config);
  // With change_mutex_ held: each version of `routing` exists (NotFound names the first missing).
  std::expected<void, common::StoreError> check_versions_exist(const std::string& name,
                                                               const api::AliasRouting& routing);
  std::expected<void, common::StoreError> save_alias(const api::AliasConfig& alias);
  // With change_mutex_ held: the alias, else NotFound for it (or for its function).
  std::expected<api::AliasConfig, common::StoreError> find_alias(const std::string& function,
                                                                 const std::string& alias);

  std::unique_ptr<StateDb> db_;
  std::unique_ptr<CodeStore> code_;
  SharedCode* shared_code_ = nullptr;  // cluster mode only
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
