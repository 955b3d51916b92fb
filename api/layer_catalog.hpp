// Layer versions, as the Layers API manages them and functions refer to them; the daemon's
// FunctionStore implements it (layers share the code store and its garbage collection).
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <vector>

#include "common/store_error.hpp"

namespace api {

struct LayerVersion {
  std::string layer_name;
  int64_t version = 0;
  std::string description;
  std::vector<std::string> compatible_runtimes;
  std::vector<std::string> compatible_architectures;
  std::string license_info;
  std::string created_date;  // Lambda's timestamp format
  // Filled by the catalog from the zip.
  std::string code_sha256;
  int64_t code_size = 0;
  std::string code_dir_key;

  bool operator==(const LayerVersion&) const = default;
};

struct LayerVersionPage {
  std::vector<LayerVersion> versions;
  std::optional<std::string> next_marker;
};

class LayerCatalog {
 public:
  virtual ~LayerCatalog() = default;

  // PublishLayerVersion: the zip is stored content-addressed like function code; the version is
  // the layer's next number (never reused). `layer` holds everything but the code fields.
  virtual std::expected<LayerVersion, common::StoreError> publish_layer_version(
      LayerVersion layer, std::string zip) = 0;
  // NotFound (resource NAME:VERSION) when there is no such version.
  virtual std::expected<LayerVersion, common::StoreError> get_layer_version(const std::string& name,
                                                                            int64_t version) = 0;
  // ListLayerVersions, newest first; with `compatible_runtime`, only those that list it.
  virtual std::expected<LayerVersionPage, common::StoreError> list_layer_versions(
      const std::string& name, const std::optional<std::string>& compatible_runtime,
      const std::optional<std::string>& marker, int max_items) = 0;
  // ListLayers: each layer's newest version (matching `compatible_runtime`), by layer name.
  virtual std::expected<LayerVersionPage, common::StoreError> list_layers(
      const std::optional<std::string>& compatible_runtime,
      const std::optional<std::string>& marker, int max_items) = 0;
  // DeleteLayerVersion: functions that use it keep its content (as on Lambda, where a function
  // keeps a copy); deleting a missing version succeeds.
  virtual std::expected<void, common::StoreError> remove_layer_version(const std::string& name,
                                                                       int64_t version) = 0;
};

}  // namespace api
