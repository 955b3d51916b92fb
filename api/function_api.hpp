// Lambda's function-management REST API (Create/Get/List/Update/Delete) over a FunctionCatalog.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "api/function_name.hpp"
#include "api/http_types.hpp"
#include "api/lambda_error.hpp"
#include "api/version_catalog.hpp"
#include "common/function_config.hpp"
#include "common/store_error.hpp"

namespace api {

// Lambda's request-size limit for CreateFunction and UpdateFunctionCode (50 MiB zip, base64'd).
inline constexpr size_t kMaxCodeRequestBytes = 69905067;

class FunctionApi {
 public:
  FunctionApi(VersionCatalog& catalog, std::string region, std::string account_id);

  // Answers one request (every response carries x-amzn-RequestId); never throws.
  HttpResponse handle(const HttpRequest& request, const std::string& request_id);

  // True for the paths this API serves: /2015-03-31/functions[/], .../{name},
  // .../{name}/configuration and .../{name}/code (any method; a wrong one gets a 404).
  static bool matches(const HttpRequest& request);

  // "arn:aws:lambda:REGION:ACCOUNT:function:NAME"
  std::string function_arn(const std::string& name) const;
  // The account an internal (possibly account-scoped) function name belongs to.
  std::string account_of(const std::string& name) const {
    return std::string(common::account_of({region_, account_id_}, name));
  }
  // The Configuration object Create/Get/List/Update return. Its FunctionArn carries `qualifier`
  // when given (an alias's name), else the version's number (none for $LATEST).
  nlohmann::json configuration_json(const common::FunctionConfig& config,
                                    const std::string& qualifier = "") const;
  // A path's {name} with the ?Qualifier= → name and qualifier (see
  // resolve_qualified_function_name).
  std::expected<QualifiedFunctionName, ApiError> resolve_qualified(const HttpRequest& request,
                                                                   const std::string& id) const;
  // The configuration a qualified name stands for: $LATEST's, a published version's, or that of
  // the version an alias points to (its primary one). Not found is worded with the qualified ARN.
  std::expected<common::FunctionConfig, ApiError> configuration_of(
      const QualifiedFunctionName& function);
  // A path's {name} (name, partial or full ARN, optional qualifier) → the plain function name.
  std::expected<std::string, ApiError> resolve_name(const HttpRequest& request,
                                                    const std::string& id) const;
  // GetFunction shows the function's reserved concurrency when this is set.
  void set_reserved_concurrency_source(
      std::function<std::optional<int>(const std::string& name)> source) {
    reserved_concurrency_ = std::move(source);
  }

  // A catalog (or settings) error as Lambda's, a missing function worded as Lambda does (with its
  // ARN): the one wording every API that names a function answers with.
  ApiError from_catalog(const common::StoreError& error, const std::string& name) const;

 private:
  HttpResponse dispatch(const HttpRequest& request, const std::string& request_id);
  HttpResponse create_function(const HttpRequest& request, const std::string& request_id);
  HttpResponse list_functions(const HttpRequest& request, const std::string& request_id);
  HttpResponse get_function(const HttpRequest& request, const std::string& id, bool config_only,
                            const std::string& request_id);
  HttpResponse update_code(const HttpRequest& request, const std::string& id,
                           const std::string& request_id);
  HttpResponse update_configuration(const HttpRequest& request, const std::string& id,
                                    const std::string& request_id);
  HttpResponse delete_function(const HttpRequest& request, const std::string& id,
                               const std::string& request_id);

  // Publish: true on CreateFunction and UpdateFunctionCode: the new version's configuration.
  HttpResponse publish_after(const common::FunctionConfig& latest, int status,
                             const std::string& request_id);

  VersionCatalog& catalog_;
  std::string region_;
  std::string account_id_;
  std::function<std::optional<int>(const std::string& name)> reserved_concurrency_;
};

}  // namespace api
