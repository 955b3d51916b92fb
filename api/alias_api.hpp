// Lambda's alias operations (CreateAlias, GetAlias, UpdateAlias, DeleteAlias, ListAliases) over a
// VersionCatalog.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "api/function_api.hpp"
#include "api/http_types.hpp"
#include "api/version_catalog.hpp"

namespace api {

class AliasApi {
 public:
  AliasApi(VersionCatalog& catalog, FunctionApi& functions)
      : catalog_(catalog), functions_(functions) {}

  // POST /2015-03-31/functions/{id}/aliases: 201 with the AliasConfiguration.
  HttpResponse create(const HttpRequest& request, const std::string& id,
                      const std::string& request_id);
  // GET /2015-03-31/functions/{id}/aliases: {"Aliases": [...], "NextMarker"}; ?FunctionVersion=
  // keeps the aliases that route to it.
  HttpResponse list(const HttpRequest& request, const std::string& id,
                    const std::string& request_id);
  // GET, PUT and DELETE /2015-03-31/functions/{id}/aliases/{alias}.
  HttpResponse get(const HttpRequest& request, const std::string& id, const std::string& alias,
                   const std::string& request_id);
  HttpResponse update(const HttpRequest& request, const std::string& id, const std::string& alias,
                      const std::string& request_id);
  HttpResponse remove(const HttpRequest& request, const std::string& id, const std::string& alias,
                      const std::string& request_id);

  // "arn:aws:lambda:REGION:ACCOUNT:function:NAME:ALIAS"
  std::string alias_arn(const AliasConfig& alias) const;
  nlohmann::json alias_json(const AliasConfig& alias) const;

 private:
  // A store error in Lambda's words: a missing function or version names its qualified ARN, a
  // missing alias "Alias not found: ARN", a taken name "Alias already exists: ARN".
  ApiError from_catalog(const common::StoreError& error, const std::string& function,
                        const std::string& alias) const;

  VersionCatalog& catalog_;
  FunctionApi& functions_;
};

// Lambda's alias name rule: 1-128 of [a-zA-Z0-9-_], not all digits (that would be a version).
bool valid_alias_name(std::string_view name);

}  // namespace api
