// runtimed's management routes for HTTP APIs (API Gateway HTTP APIs with Lambda proxy routes,
// payload format 2.0), which `runtimed deploy` drives from a template's HttpApi events:
//   PUT    /runtimed/v1/http-apis/{name}  {"Routes":[{"RouteKey","FunctionArn"}],
//                                          "CorsConfiguration":{…}} creates or replaces the API
//   GET    /runtimed/v1/http-apis         {"Items":[…]}
//   GET    /runtimed/v1/http-apis/{name}
//   DELETE /runtimed/v1/http-apis/{name}  204
// The HTTP trigger listener serves the APIs at their ApiEndpoint.
#pragma once

#include <string>

#include "api/function_api.hpp"
#include "api/http_types.hpp"
#include "runtimed/triggers/http_trigger_store.hpp"
#include "runtimed/triggers/trigger_urls.hpp"

namespace runtimed {

class HttpApiRoutes {
 public:
  HttpApiRoutes(HttpTriggerStore& store, api::FunctionApi& functions,
                const common::LambdaIdentity& identity, const TriggerUrls& urls)
      : store_(store), functions_(functions), identity_(identity), urls_(urls) {}

  api::HttpResponse put(const api::HttpRequest& request, const std::string& name,
                        const std::string& request_id);
  api::HttpResponse get(const api::HttpRequest& request, const std::string& name,
                        const std::string& request_id);
  api::HttpResponse list(const api::HttpRequest& request, const std::string& request_id);
  api::HttpResponse remove(const api::HttpRequest& request, const std::string& name,
                           const std::string& request_id);

 private:
  nlohmann::json api_json(const HttpApi& api) const;

  HttpTriggerStore& store_;
  api::FunctionApi& functions_;
  common::LambdaIdentity identity_;
  const TriggerUrls& urls_;
};

}  // namespace runtimed
