// Lambda's PublishVersion and ListVersionsByFunction over a VersionCatalog.
#pragma once

#include <string>

#include "api/function_api.hpp"
#include "api/http_types.hpp"
#include "api/version_catalog.hpp"

namespace api {

class VersionApi {
 public:
  VersionApi(VersionCatalog& catalog, FunctionApi& functions)
      : catalog_(catalog), functions_(functions) {}

  // POST /2015-03-31/functions/{id}/versions: 201 with the version's configuration.
  HttpResponse publish(const HttpRequest& request, const std::string& id,
                       const std::string& request_id);
  // GET /2015-03-31/functions/{id}/versions: {"Versions": [...], "NextMarker"}.
  HttpResponse list(const HttpRequest& request, const std::string& id,
                    const std::string& request_id);

 private:
  VersionCatalog& catalog_;
  FunctionApi& functions_;
};

}  // namespace api
