// The client API's routes: one table from (method, path) to the Lambda API, the Invoke API and
// runtimed's own endpoints (health, logs, queues), saying which handlers block and so run on the
// blocking pool instead of the io thread that read the request.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <functional>
#include <optional>
#include <string>

#include "api/alias_api.hpp"
#include "api/concurrency_api.hpp"
#include "api/event_invoke_config_api.hpp"
#include "api/function_api.hpp"
#include "api/function_catalog.hpp"
#include "api/http_server.hpp"
#include "api/http_types.hpp"
#include "api/layer_api.hpp"
#include "api/provisioned_concurrency_api.hpp"
#include "api/route_table.hpp"
#include "api/tags_api.hpp"
#include "api/version_api.hpp"
#include "common/metrics_registry.hpp"
#include "runtimed/async/async_dispatcher.hpp"
#include "runtimed/async/queue_routes.hpp"
#include "runtimed/cluster/cluster_node.hpp"
#include "runtimed/controller/controller.hpp"
#include "runtimed/controller/function_log.hpp"
#include "runtimed/forwarding/invoke_forwarder.hpp"
#include "runtimed/http_metrics.hpp"
#include "runtimed/stack_routes.hpp"
#include "runtimed/triggers/event_source_mappings.hpp"
#include "runtimed/triggers/function_url_api.hpp"
#include "runtimed/triggers/http_api_routes.hpp"
#include "runtimed/triggers/scheduler.hpp"

namespace runtimed {

class ClientRoutes {
 public:
  struct Apis {
    api::FunctionApi& functions;
    api::ConcurrencyApi& concurrency;
    api::EventInvokeConfigApi& event_invoke_configs;
    api::TagsApi& tags;
    api::VersionApi& versions;
    api::AliasApi& aliases;
    api::LayerApi& layers;
    api::ProvisionedConcurrencyApi& provisioned;
    QueueRoutes& queues;
    StackRoutes& stacks;  // deploy (h18-sam)
    FunctionUrlApi& function_urls;
    HttpApiRoutes& http_apis;
    Scheduler& schedules;
    EventSourceMappings& event_source_mappings;
  };
  ClientRoutes(Controller& controller, AsyncDispatcher& dispatcher, Apis apis, FunctionLogs& logs,
               api::FunctionCatalog& catalog, const HostIdentity& host,
               common::metrics::Registry& metrics);
  ClientRoutes(const ClientRoutes&) = delete;
  ClientRoutes& operator=(const ClientRoutes&) = delete;

  // Answers one request (on the io thread that read it): runs its route's handler there or on
  // the blocking pool, as the route says.
  void handle(api::HttpRequest&& request, api::Reply reply);

  // Who signed a request: their account ("" for the daemon's own) and whether theirs is an admin
  // key.
  struct Caller {
    std::string account;
    bool admin = false;
  };
  // Checks every request before its route runs (SigV4 with --credentials): the caller, or the
  // error to answer with. Unset, requests are not authenticated. Set before serving.
  using Authenticator =
      std::function<std::expected<Caller, api::ApiError>(const api::HttpRequest&)>;
  void set_authenticator(Authenticator authenticate) { authenticate_ = std::move(authenticate); }

  // With --cluster: the node GET /runtimed/v1/cluster reports from (it outlives the routes), and
  // whose live view synchronous invokes are routed by (InvokeForwarder). Unset, that route
  // answers that cluster mode is off and every invoke runs here. Set before serving.
  // `server` carries the forwards to other nodes on its io threads.
  // `reserved_of` gives a function's configured reservation, which the routing splits.
  void set_cluster(cluster::ClusterNode* node, api::HttpServer& server,
                   std::function<std::optional<int>(const std::string&)> reserved_of);

  // Finishes the forwards in flight and the requests already on the blocking pool, and stops
  // them. Idempotent.
  void stop();

 private:
  struct Handler {
    // Calls the reply once. Only handlers on the io thread may move it away: the blocking pool
    // keeps it to answer an exception.
    std::function<void(const api::HttpRequest&, const api::PathParams&,
                       const std::string& request_id, api::Reply& reply)>
        run;
    // A request for this route's path with another method still goes to `run`, which refuses it
    // in its own API's words (Lambda's UnknownOperationException, "Invoke requires POST"). When
    // false, such a request finds no route.
    bool answers_other_methods;
  };

  void add_routes();
  Authenticator authenticate_;
  cluster::ClusterNode* cluster_ = nullptr;
  std::unique_ptr<InvokeForwarder> forwarder_;  // with cluster_
  template <typename Work>
  void on_blocking_pool(const std::string& request_id, api::Reply reply, Work work);

  void invoke(const api::HttpRequest& http, const std::string& request_id, api::Reply& reply);
  // Runs a parsed invocation on this node.
  void invoke_here(api::InvokeRequest request, bool stream, const std::string& request_id,
                   api::Reply reply);
  api::HttpResponse health(const std::string& request_id);
  api::HttpResponse environments(const api::HttpRequest& request, const std::string& request_id);
  // The caller's function a route's {name} (a name or an ARN) names, if it exists.
  std::expected<std::string, api::ApiError> existing_function(const api::HttpRequest& request,
                                                              const std::string& id);
  // Discards the function's idle environments (`runtimed drain`, `runtimed bench cold`).
  api::HttpResponse drain(const api::HttpRequest& request, const std::string& id,
                          const std::string& request_id);
  // Whether the request may read every account's numbers: any request when none is
  // authenticated, else an admin key's.
  bool sees_every_account(const api::HttpRequest& request) const {
    return !authenticate_ || request.admin;
  }
  api::HttpResponse logs(const std::string& id, const api::HttpRequest& request,
                         const std::string& request_id);
  // The cluster's nodes from the shared database (`runtimed cluster status`).
  api::HttpResponse cluster_status(const api::HttpRequest& request, const std::string& request_id);

  Controller& controller_;
  AsyncDispatcher& dispatcher_;
  Apis apis_;
  FunctionLogs& logs_;
  api::FunctionCatalog& catalog_;
  HostIdentity host_;
  common::metrics::Registry& metrics_;
  api::RouteTable<Handler> routes_;
  std::optional<HttpMetrics> http_metrics_;  // one series per route of routes_, made after it
  // Durable writes wait here, not on io threads; enough threads that concurrent Event invocations
  // share one group commit (StateDb::write) instead of queueing behind each other.
  boost::asio::thread_pool blocking_{16};
};

}  // namespace runtimed
