// Lambda's Function URL API (2021-10-31): Create/Get/Update/DeleteFunctionUrlConfig and
// ListFunctionUrlConfigs, over the HttpTriggerStore. The URLs it answers point at the HTTP
// trigger listener (`serve --http-listen`), which serves them.
#pragma once

#include <string>

#include "api/function_api.hpp"
#include "api/http_types.hpp"
#include "runtimed/triggers/http_trigger_store.hpp"
#include "runtimed/triggers/trigger_urls.hpp"

namespace runtimed {

class FunctionUrlApi {
 public:
  FunctionUrlApi(HttpTriggerStore& store, api::FunctionApi& functions, const TriggerUrls& urls)
      : store_(store), functions_(functions), urls_(urls) {}

  // /2021-10-31/functions/{name}/url: POST, GET, PUT, DELETE (?Qualifier= an alias).
  api::HttpResponse handle(const api::HttpRequest& request, const std::string& id,
                           const std::string& request_id);
  // /2021-10-31/functions/{name}/urls: GET (?Marker=, ?MaxItems=).
  api::HttpResponse list(const api::HttpRequest& request, const std::string& id,
                         const std::string& request_id);

 private:
  nlohmann::json config_json(const FunctionUrlConfig& config, bool with_last_modified) const;

  HttpTriggerStore& store_;
  api::FunctionApi& functions_;
  const TriggerUrls& urls_;
};

}  // namespace runtimed
