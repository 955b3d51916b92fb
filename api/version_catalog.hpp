// The published versions and aliases of functions, as the Version and Alias APIs manage them; the
// daemon's FunctionStore implements it along with FunctionCatalog.
#pragma once

#include <expected>
#include <optional>
#include <string>
#include <vector>

#include "api/alias_routing.hpp"
#include "api/function_catalog.hpp"
#include "common/function_config.hpp"
#include "common/store_error.hpp"

namespace api {

// One alias of a function: a name for a version (and a traffic split, AliasRouting).
struct AliasConfig {
  std::string function_name;
  std::string name;
  std::string description;
  AliasRouting routing;
  std::string revision_id;  // set by the catalog on every create and update

  bool operator==(const AliasConfig&) const = default;
};

struct AliasPage {
  std::vector<AliasConfig> aliases;
  std::optional<std::string> next_marker;  // set only when more aliases follow
};

class VersionCatalog : public FunctionCatalog {
 public:
  // PublishVersion: snapshots $LATEST as the next version number (never reused). Unchanged since
  // the last published version, it answers that version instead (as Lambda). `expected_sha256`
  // (CodeSha256) must match $LATEST's code (else InvalidValue), `expected_revision_id` its
  // RevisionId (else RevisionMismatch). `description`, when set, is the version's Description.
  virtual std::expected<common::FunctionConfig, common::StoreError> publish_version(
      const std::string& name, const std::optional<std::string>& expected_sha256,
      const std::optional<std::string>& expected_revision_id,
      const std::optional<std::string>& description) = 0;
  // ListVersionsByFunction: $LATEST, then the versions in ascending order, paged; the marker is
  // the last version of the previous page.
  virtual std::expected<FunctionPage, common::StoreError> list_versions(
      const std::string& name, const std::optional<std::string>& marker, int max_items) = 0;
  // DeleteFunction with a version Qualifier: the version only (its code goes once unreferenced).
  // A version an alias routes to is Conflict.
  virtual std::expected<void, common::StoreError> remove_version(const std::string& name,
                                                                 const std::string& version) = 0;

  // CreateAlias: `alias.routing`'s versions must exist (NotFound naming the qualified function);
  // a taken name is AlreadyExists.
  virtual std::expected<AliasConfig, common::StoreError> create_alias(AliasConfig alias) = 0;
  virtual std::expected<AliasConfig, common::StoreError> get_alias(const std::string& function,
                                                                   const std::string& alias) = 0;
  // ListAliases in name order, paged (the marker is the previous page's last name); with
  // `function_version`, only aliases that route to it.
  virtual std::expected<AliasPage, common::StoreError> list_aliases(
      const std::string& function, const std::optional<std::string>& function_version,
      const std::optional<std::string>& marker, int max_items) = 0;
  // UpdateAlias: replaces the alias's description and routing (the caller merged the request into
  // the current alias); `expected_revision_id` as for functions.
  virtual std::expected<AliasConfig, common::StoreError> update_alias(
      AliasConfig alias, const std::optional<std::string>& expected_revision_id) = 0;
  virtual std::expected<void, common::StoreError> remove_alias(const std::string& function,
                                                               const std::string& alias) = 0;
};

}  // namespace api
