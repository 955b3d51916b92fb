// Lambda's Layers API: PublishLayerVersion, GetLayerVersion, GetLayerVersionByArn, ListLayers,
// ListLayerVersions, DeleteLayerVersion, over a LayerCatalog.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "api/function_name.hpp"
#include "api/http_types.hpp"
#include "api/layer_catalog.hpp"

namespace api {

class LayerApi {
 public:
  LayerApi(LayerCatalog& catalog, LambdaIdentity identity)
      : catalog_(catalog), identity_(std::move(identity)) {}

  // POST /2018-10-31/layers/{name}/versions: 201 with the layer version.
  HttpResponse publish(const HttpRequest& request, const std::string& id,
                       const std::string& request_id);
  // GET /2018-10-31/layers/{name}/versions[?CompatibleRuntime=]: {"LayerVersions": [...]}.
  HttpResponse list_versions(const HttpRequest& request, const std::string& id,
                             const std::string& request_id);
  // GET and DELETE /2018-10-31/layers/{name}/versions/{version}.
  HttpResponse get(const HttpRequest& request, const std::string& id, const std::string& version,
                   const std::string& request_id);
  HttpResponse remove(const HttpRequest& request, const std::string& id, const std::string& version,
                      const std::string& request_id);
  // GET /2018-10-31/layers: ListLayers, or with ?find=LayerVersion&Arn= GetLayerVersionByArn.
  HttpResponse list_layers(const HttpRequest& request, const std::string& request_id);

  nlohmann::json layer_version_json(const LayerVersion& layer) const;
  // What the List operations show of a version: no Content, no LayerArn.
  nlohmann::json layer_version_summary(const LayerVersion& layer) const;

 private:
  HttpResponse get_by_arn(const HttpRequest& request, const std::string& arn,
                          const std::string& request_id);
  // A path's {LayerName} for the request's caller: their account's, scoped.
  std::expected<std::string, ApiError> resolve(const HttpRequest& request,
                                               std::string_view id) const;
  ApiError not_found(const std::string& name, int64_t version) const;

  LayerCatalog& catalog_;
  LambdaIdentity identity_;
};

}  // namespace api
