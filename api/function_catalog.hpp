// The interface the Function API manages functions through; the daemon's FunctionStore implements
// it.
#pragma once

#include <expected>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/alias_routing.hpp"
#include "common/function_config.hpp"
#include "common/store_error.hpp"

namespace api {

// A validated CreateFunction: `config` holds everything but the code fields, which the catalog
// fills from `zip` (code_sha256, code_size, code_dir_key) along with revision_id and last_modified.
struct CreateFunctionRequest {
  common::FunctionConfig config;
  std::string zip;
  bool publish = false;  // Publish: the API publishes version 1 once created
};

// A validated UpdateFunctionConfiguration: only the fields that are set change.
struct ConfigurationPatch {
  std::optional<std::string> runtime;
  std::optional<std::string> handler;
  std::optional<std::string> role;
  std::optional<std::string> description;
  std::optional<int> memory_mb;
  std::optional<int> timeout_s;
  std::optional<std::map<std::string, std::string>> environment;  // replaces the whole map
  std::optional<int> ephemeral_storage_mb;
  std::optional<std::string> dead_letter_target_arn;  // "" removes it
  // Layers: ARN, name and version set (the catalog fills the code fields; an unknown version is
  // InvalidValue). An empty list removes them.
  std::optional<std::vector<common::LayerRef>> layers;

  // Sets the fields of `config` that this patch sets.
  void apply_to(common::FunctionConfig& config) const;
};

struct FunctionPage {
  std::vector<common::FunctionConfig> functions;
  std::optional<std::string> next_marker;  // set only when more functions follow
};

// The key of one version's warm pool and cached configuration: NAME for $LATEST, else
// NAME:VERSION.
std::string pool_key(const std::string& name, const std::string& version);

// Names are plain function names (already resolved from ARNs by the API). Errors are the store's
// (common::StoreError); the API maps them (store_error_mapping.hpp). A missing function is
// NotFound, whose message the API words, since only it knows the region and account.
class FunctionCatalog {
 public:
  virtual ~FunctionCatalog() = default;

  virtual std::expected<common::FunctionConfig, common::StoreError> create(
      CreateFunctionRequest request) = 0;
  virtual std::expected<common::FunctionConfig, common::StoreError> get(
      const std::string& name) = 0;
  virtual std::expected<FunctionPage, common::StoreError> list(
      const std::optional<std::string>& marker, int max_items) = 0;
  // `expected_revision_id`, when set, must equal the current RevisionId (else RevisionMismatch).
  virtual std::expected<common::FunctionConfig, common::StoreError> update_code(
      const std::string& name, std::string zip,
      const std::optional<std::string>& expected_revision_id) = 0;
  virtual std::expected<common::FunctionConfig, common::StoreError> update_configuration(
      const std::string& name, const ConfigurationPatch& patch,
      const std::optional<std::string>& expected_revision_id) = 0;
  // Sets `set` and removes `remove` from the function's tags: no new RevisionId, and more than
  // 50 tags in the end is InvalidValue.
  virtual std::expected<common::FunctionConfig, common::StoreError> update_tags(
      const std::string& name, const std::map<std::string, std::string>& set,
      const std::vector<std::string>& remove) = 0;
  virtual std::expected<void, common::StoreError> remove(const std::string& name) = 0;

  // A published version ("1", "2", ...); NotFound (resource NAME:VERSION) when the function or
  // the version is not there. Versions never change, so callers may keep what they read.
  virtual std::expected<common::FunctionConfig, common::StoreError> get_version(
      const std::string& name, const std::string& version) = 0;
  // The routing of alias ALIAS of function NAME, from memory: invocations resolve aliases without
  // the database. NotFound (resource NAME:ALIAS) when there is no such alias.
  virtual std::expected<AliasRouting, common::StoreError> alias_routing(
      const std::string& name, const std::string& alias) = 0;

  // The directory holding the function's unpacked code.
  virtual std::filesystem::path code_dir(const common::FunctionConfig& config) const = 0;
  // The directory holding a layer version's unpacked content.
  virtual std::filesystem::path layer_dir(const common::LayerRef& layer) const = 0;
  // Keeps config's code directory (and its layers') on disk while the returned handle lives, even
  // after an update or a delete made it unreferenced: environments still running that code keep
  // their files.
  virtual std::shared_ptr<void> hold_code(const common::FunctionConfig& config) = 0;

  // Called after a successful create, update or delete (outside any lock) with the qualified name
  // of what changed or went (pool_key: NAME for $LATEST, NAME:VERSION for a published version;
  // deleting a function calls it for each), so the controller can retire warm environments running
  // it.
  std::function<void(const std::string& qualified_name)> on_changed;
  // Called after an alias of FUNCTION was updated or deleted (outside any lock).
  std::function<void(const std::string& function)> on_aliases_changed;
};

}  // namespace api
