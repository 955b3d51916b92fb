// The client API's route table and the handlers that live with it (see client_routes.hpp).
#include "runtimed/client_routes.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <charconv>
#include <optional>

#include "api/function_name.hpp"
#include "api/invoke_api.hpp"
#include "api/invoke_stream.hpp"
#include "api/json_response.hpp"
#include "api/lambda_error.hpp"
#include "api/lambda_routes.hpp"
#include "api/store_error_mapping.hpp"
#include "common/account_scope.hpp"
#include "common/ids.hpp"
#include "runtimed/bench/saved_run_report.hpp"
#include "runtimed/console/console_assets.hpp"

namespace runtimed {

namespace {

using api::json_response;
using api::RouteExecution;

// A decimal count from a query parameter; nullopt unless the whole text is one.
std::optional<uint64_t> parse_count(std::string_view text) {
  uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

}  // namespace

ClientRoutes::ClientRoutes(Controller& controller, AsyncDispatcher& dispatcher, Apis apis,
                           FunctionLogs& logs, api::FunctionCatalog& catalog,
                           const HostIdentity& host, common::metrics::Registry& metrics)
    : controller_(controller),
      dispatcher_(dispatcher),
      apis_(apis),
      logs_(logs),
      catalog_(catalog),
      host_(host),
      metrics_(metrics) {
  add_routes();
  std::vector<std::string> route_labels;
  for (const auto& route : routes_.routes()) {
    route_labels.push_back((route.method == "*" ? "ANY" : route.method) + " " +
                           route.pattern.text());
  }
  http_metrics_.emplace(metrics_, route_labels);
}

void ClientRoutes::add_routes() {
  // Each management API answers every route of its own (and refuses a method it does not
  // implement itself), so a path's routes share one handler; the table still names each
  // operation's method. They read and write SQLite or unzip code: never on an io thread.
  auto api_handler = [](auto& api) {
    return Handler{[&api](const api::HttpRequest& r, const api::PathParams&, const std::string& id,
                          api::Reply& reply) { reply(api.handle(r, id)); },
                   true};
  };
  const Handler functions = api_handler(apis_.functions);
  const Handler concurrency = api_handler(apis_.concurrency);
  const Handler event_invoke_configs = api_handler(apis_.event_invoke_configs);
  const Handler queues = api_handler(apis_.queues);
  const Handler tags = api_handler(apis_.tags);
  const auto io = RouteExecution::kIoThread;
  const auto blocking = RouteExecution::kBlocking;

  // Invoke: parsing is cheap; Event and DryRun go to the blocking pool from invoke(), and a
  // RequestResponse invocation waits in the controller, on no thread at all.
  routes_.add("POST", "/2015-03-31/functions/{name...}/invocations", io,
              {[this](const api::HttpRequest& r, const api::PathParams&, const std::string& id,
                      api::Reply& reply) { invoke(r, id, reply); },
               true});
  // InvokeWithResponseStream: the same, its answer an event stream sent as the function streams.
  routes_.add("POST", "/2021-11-15/functions/{name...}/response-streaming-invocations", io,
              {[this](const api::HttpRequest& r, const api::PathParams&, const std::string& id,
                      api::Reply& reply) { invoke(r, id, reply); },
               true});

  routes_
      .add("POST", "/2015-03-31/functions", blocking, functions)  // CreateFunction
      .add("GET", "/2015-03-31/functions", blocking, functions)   // ListFunctions
      .add("POST", "/2015-03-31/functions/", blocking, functions)
      .add("GET", "/2015-03-31/functions/", blocking, functions)
      .add("GET", "/2015-03-31/functions/{name}", blocking, functions)     // GetFunction
      .add("DELETE", "/2015-03-31/functions/{name}", blocking, functions)  // DeleteFunction
      // GetFunctionConfiguration, UpdateFunctionConfiguration
      .add("GET", "/2015-03-31/functions/{name}/configuration", blocking, functions)
      .add("PUT", "/2015-03-31/functions/{name}/configuration", blocking, functions)
      .add("PUT", "/2015-03-31/functions/{name}/code", blocking, functions);  // UpdateFunctionCode

  // Versions and aliases: each operation its own handler, given the path's captures.
  using Operation = api::HttpResponse (*)(ClientRoutes&, const api::HttpRequest&,
                                          const api::PathParams&, const std::string&);
  auto operation = [this](Operation op) {
    return Handler{
        [this, op](const api::HttpRequest& r, const api::PathParams& params, const std::string& id,
                   api::Reply& reply) { reply(op(*this, r, params, id)); },
        false};
  };
  routes_
      .add("POST", "/2015-03-31/functions/{name}/versions", blocking,
           operation([](ClientRoutes& c, const auto& r, const auto& p, const auto& id) {
             return c.apis_.versions.publish(r, p.get("name"), id);  // PublishVersion
           }))
      .add("GET", "/2015-03-31/functions/{name}/versions", blocking,
           operation([](ClientRoutes& c, const auto& r, const auto& p, const auto& id) {
             return c.apis_.versions.list(r, p.get("name"), id);  // ListVersionsByFunction
           }))
      .add("POST", "/2015-03-31/functions/{name}/aliases", blocking,
           operation([](ClientRoutes& c, const auto& r, const auto& p, const auto& id) {
             return c.apis_.aliases.create(r, p.get("name"), id);  // CreateAlias
           }))
      .add("GET", "/2015-03-31/functions/{name}/aliases", blocking,
           operation([](ClientRoutes& c, const auto& r, const auto& p, const auto& id) {
             return c.apis_.aliases.list(r, p.get("name"), id);  // ListAliases
           }))
      .add("GET", "/2015-03-31/functions/{name}/aliases/{alias}", blocking,
           operation([](ClientRoutes& c, const auto& r, const auto& p, const auto& id) {
             return c.apis_.aliases.get(r, p.get("name"), p.get("alias"), id);  // GetAlias
           }))
      .add("PUT", "/2015-03-31/functions/{name}/aliases/{alias}", blocking,
           operation([](ClientRoutes& c, const auto& r, const auto& p, const auto& id) {
             return c.apis_.aliases.update(r, p.get("name"), p.get("alias"), id);  // UpdateAlias
           }))
      .add("DELETE", "/2015-03-31/functions/{name}/aliases/{alias}", blocking,
           operation([](ClientRoutes& c, const auto& r, const auto& p, const auto& id) {
             return c.apis_.aliases.remove(r, p.get("name"), p.get("alias"), id);  // DeleteAlias
           }));
  // Layers; {name} may be a layer ARN, one percent-encoded segment.
  const Handler list_layers =
      operation([](ClientRoutes& c, const auto& r, const auto&, const auto& id) {
        return c.apis_.layers.list_layers(r, id);  // ListLayers, GetLayerVersionByArn
      });
  routes_.add("GET", "/2018-10-31/layers", blocking, list_layers)
      .add("GET", "/2018-10-31/layers/", blocking, list_layers)
      .add("POST", "/2018-10-31/layers/{name}/versions", blocking,
           operation([](ClientRoutes& c, const auto& r, const auto& p, const auto& id) {
             return c.apis_.layers.publish(r, p.get("name"), id);  // PublishLayerVersion
           }))
      .add("GET", "/2018-10-31/layers/{name}/versions", blocking,
           operation([](ClientRoutes& c, const auto& r, const auto& p, const auto& id) {
             return c.apis_.layers.list_versions(r, p.get("name"), id);  // ListLayerVersions
           }))
      .add("GET", "/2018-10-31/layers/{name}/versions/{version}", blocking,
           operation([](ClientRoutes& c, const auto& r, const auto& p, const auto& id) {
             return c.apis_.layers.get(r, p.get("name"), p.get("version"), id);  // GetLayerVersion
           }))
      .add("DELETE", "/2018-10-31/layers/{name}/versions/{version}", blocking,
           operation([](ClientRoutes& c, const auto& r, const auto& p, const auto& id) {
             return c.apis_.layers.remove(r, p.get("name"), p.get("version"), id);
           }));

  // The resource ARN is one percent-encoded segment; decoded it may hold '/'.
  routes_
      .add("GET", "/2017-03-31/tags/{arn...}", blocking, tags)      // ListTags
      .add("POST", "/2017-03-31/tags/{arn...}", blocking, tags)     // TagResource
      .add("DELETE", "/2017-03-31/tags/{arn...}", blocking, tags);  // UntagResource
  routes_
      .add("GET", "/2016-08-19/account-settings", blocking, concurrency)  // GetAccountSettings
      .add("GET", "/2016-08-19/account-settings/", blocking, concurrency)
      // PutFunctionConcurrency, DeleteFunctionConcurrency, GetFunctionConcurrency
      .add("PUT", "/2017-10-31/functions/{name}/concurrency", blocking, concurrency)
      .add("DELETE", "/2017-10-31/functions/{name}/concurrency", blocking, concurrency)
      .add("GET", "/2019-09-30/functions/{name}/concurrency", blocking, concurrency);

  // Get, Put, Update (POST) and Delete FunctionEventInvokeConfig; ListFunctionEventInvokeConfigs.
  for (const char* method : {"GET", "PUT", "POST", "DELETE"}) {
    routes_.add(method, "/2019-09-25/functions/{name}/event-invoke-config", blocking,
                event_invoke_configs);
  }
  routes_.add("GET", "/2019-09-25/functions/{name}/event-invoke-config/list", blocking,
              event_invoke_configs);

  // runtimed's own: async backlog and queues (QueueRoutes also answers what it does not know
  // under /runtimed/v1/queues/, e.g. a bad queue name, hence the catch-all routes).
  routes_.add("GET", "/runtimed/v1/functions/{name...}/async", blocking, queues)
      .add("GET", "/runtimed/v1/queues", blocking, queues)
      .add("POST", "/runtimed/v1/queues/{queue}/receive", blocking, queues)
      .add("DELETE", "/runtimed/v1/queues/{queue}/messages/{handle}", blocking, queues)
      .add("POST", "/runtimed/v1/queues/{queue}/purge", blocking, queues)
      .add("POST", "/runtimed/v1/queues/{queue}/redrive", blocking, queues)
      .add("*", "/runtimed/v1/queues", blocking, queues)
      .add("*", "/runtimed/v1/queues/", blocking, queues)
      .add("*", "/runtimed/v1/queues/{rest...}", blocking, queues);

  // Function URL configs (Lambda's 2021-10-31 API) and HTTP APIs (runtimed's): SQLite.
  routes_
      .add("POST", "/2021-10-31/functions/{name}/url", blocking,
           operation([](ClientRoutes& c, const auto& r, const auto& p, const auto& id) {
             return c.apis_.function_urls.handle(r, p.get("name"), id);  // CreateFunctionUrlConfig
           }))
      .add("GET", "/2021-10-31/functions/{name}/url", blocking,
           operation([](ClientRoutes& c, const auto& r, const auto& p, const auto& id) {
             return c.apis_.function_urls.handle(r, p.get("name"), id);  // GetFunctionUrlConfig
           }))
      .add("PUT", "/2021-10-31/functions/{name}/url", blocking,
           operation([](ClientRoutes& c, const auto& r, const auto& p, const auto& id) {
             return c.apis_.function_urls.handle(r, p.get("name"), id);  // UpdateFunctionUrlConfig
           }))
      .add("DELETE", "/2021-10-31/functions/{name}/url", blocking,
           operation([](ClientRoutes& c, const auto& r, const auto& p, const auto& id) {
             return c.apis_.function_urls.handle(r, p.get("name"), id);  // DeleteFunctionUrlConfig
           }))
      .add("GET", "/2021-10-31/functions/{name}/urls", blocking,
           operation([](ClientRoutes& c, const auto& r, const auto& p, const auto& id) {
             return c.apis_.function_urls.list(r, p.get("name"), id);  // ListFunctionUrlConfigs
           }))
      .add("GET", "/runtimed/v1/http-apis", blocking,
           operation([](ClientRoutes& c, const auto& r, const auto&, const auto& id) {
             return c.apis_.http_apis.list(r, id);
           }))
      .add("PUT", "/runtimed/v1/http-apis/{name}", blocking,
           operation([](ClientRoutes& c, const auto& r, const auto& p, const auto& id) {
             return c.apis_.http_apis.put(r, p.get("name"), id);
           }))
      .add("GET", "/runtimed/v1/http-apis/{name}", blocking,
           operation([](ClientRoutes& c, const auto& r, const auto& p, const auto& id) {
             return c.apis_.http_apis.get(r, p.get("name"), id);
           }))
      .add("DELETE", "/runtimed/v1/http-apis/{name}", blocking,
           operation([](ClientRoutes& c, const auto& r, const auto& p, const auto& id) {
             return c.apis_.http_apis.remove(r, p.get("name"), id);
           }));

  // Event source mappings (Lambda's 2015-03-31 API): SQLite.
  const Handler mappings_list{
      [this](const api::HttpRequest& r, const api::PathParams&, const std::string& id,
             api::Reply& reply) { reply(apis_.event_source_mappings.handle(r, "", id)); },
      false};
  const Handler mapping{[this](const api::HttpRequest& r, const api::PathParams& p,
                               const std::string& id, api::Reply& reply) {
                          reply(apis_.event_source_mappings.handle(r, p.get("uuid"), id));
                        },
                        false};
  routes_.add("POST", "/2015-03-31/event-source-mappings", blocking, mappings_list)
      .add("POST", "/2015-03-31/event-source-mappings/", blocking, mappings_list)
      .add("GET", "/2015-03-31/event-source-mappings", blocking, mappings_list)
      .add("GET", "/2015-03-31/event-source-mappings/", blocking, mappings_list)
      .add("GET", "/2015-03-31/event-source-mappings/{uuid}", blocking, mapping)
      .add("PUT", "/2015-03-31/event-source-mappings/{uuid}", blocking, mapping)
      .add("DELETE", "/2015-03-31/event-source-mappings/{uuid}", blocking, mapping);

  // Schedules (EventBridge Scheduler's shape): SQLite.
  routes_
      .add("GET", "/runtimed/v1/schedules", blocking,
           operation([](ClientRoutes& c, const auto& r, const auto&, const auto& id) {
             return c.apis_.schedules.list(r, id);
           }))
      .add("PUT", "/runtimed/v1/schedules/{name}", blocking,
           operation([](ClientRoutes& c, const auto& r, const auto& p, const auto& id) {
             return c.apis_.schedules.put(r, p.get("name"), id);
           }))
      .add("GET", "/runtimed/v1/schedules/{name}", blocking,
           operation([](ClientRoutes& c, const auto& r, const auto& p, const auto& id) {
             return c.apis_.schedules.get(r, p.get("name"), id);
           }))
      .add("DELETE", "/runtimed/v1/schedules/{name}", blocking,
           operation([](ClientRoutes& c, const auto& r, const auto& p, const auto& id) {
             return c.apis_.schedules.remove(r, p.get("name"), id);
           }));

  // Deployed stacks' records (runtimed deploy): SQLite.
  const Handler stacks = api_handler(apis_.stacks);
  routes_.add("GET", "/runtimed/v1/stacks", blocking, stacks)
      .add("*", "/runtimed/v1/stacks/{name}", blocking, stacks);

  // Health reads counters under one lock: cheap, and answered to any method.
  routes_.add("*", "/runtimed/v1/health", io,
              {[this](const api::HttpRequest&, const api::PathParams&, const std::string& id,
                      api::Reply& reply) { reply(health(id)); },
               true});
  // Prometheus scrapes: counters under short locks, the async queue's depth from SQLite.
  routes_.add("GET", "/metrics", blocking,
              {[this](const api::HttpRequest& r, const api::PathParams&, const std::string& id,
                      api::Reply& reply) {
                 // Every account's functions are in it: an admin key's to read.
                 if (!sees_every_account(r))
                   return reply(api::to_http(
                       api::ApiError{api::ApiErrorType::AccessDenied,
                                     "Only an admin key (admin = true in --credentials) may read "
                                     "/metrics: it covers every account"},
                       id));
                 api::HttpResponse response{.status = 200, .body = metrics_.expose()};
                 response.set_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
                 reply(std::move(response));
               },
               false});
  // Drain reads the function from the store before discarding its environments.
  routes_.add(
      "POST", "/runtimed/v1/functions/{name...}/drain", blocking,
      {[this](const api::HttpRequest& r, const api::PathParams& params, const std::string& id,
              api::Reply& reply) { reply(drain(r, params.get("name"), id)); },
       false});
  // The web console's files, from memory (docs/console.md). Without a signature: the daemon's
  // authenticator lets GET of these paths through, and the page signs its own API calls.
  const Handler console_files{
      [this](const api::HttpRequest& r, const api::PathParams&, const std::string& id,
             api::Reply& reply) {
        reply(console::respond(r, id, {static_cast<bool>(authenticate_), host_.region}));
      },
      false};
  routes_.add("GET", "/console", io, console_files)
      .add("GET", "/console/", io, console_files)
      .add("GET", "/console/{file...}", io, console_files);
  // Provisioned concurrency: Put/Get/Delete by ?Qualifier=, List by ?List=ALL.
  const Handler provisioned{
      [this](const api::HttpRequest& r, const api::PathParams& params, const std::string& id,
             api::Reply& reply) { reply(apis_.provisioned.handle(r, params.get("name"), id)); },
      false};
  routes_.add("GET", "/2019-09-30/functions/{name}/provisioned-concurrency", blocking, provisioned)
      .add("PUT", "/2019-09-30/functions/{name}/provisioned-concurrency", blocking, provisioned)
      .add("DELETE", "/2019-09-30/functions/{name}/provisioned-concurrency", blocking, provisioned);
  // Environments by function and version: counts under the controller's lock, like health.
  routes_.add("GET", "/runtimed/v1/environments", io,
              {[this](const api::HttpRequest& r, const api::PathParams&, const std::string& id,
                      api::Reply& reply) { reply(environments(r, id)); },
               false});
  // A saved bench run drawn as the HTML report's content: parsing and drawing take a while.
  routes_.add("POST", "/runtimed/v1/bench/report", blocking,
              {[](const api::HttpRequest& r, const api::PathParams&, const std::string& id,
                  api::Reply& reply) { reply(bench::saved_run_report(r, id)); },
               false});
  // Cluster membership reads the shared PostgreSQL database.
  routes_.add("GET", "/runtimed/v1/cluster", blocking,
              {[this](const api::HttpRequest& r, const api::PathParams&, const std::string& id,
                      api::Reply& reply) { reply(cluster_status(r, id)); },
               false});
  // Logs read files and may wait for new text (?follow=1).
  routes_.add(
      "GET", "/runtimed/v1/functions/{name...}/logs", blocking,
      {[this](const api::HttpRequest& r, const api::PathParams& params, const std::string& id,
              api::Reply& reply) { reply(logs(params.get("name"), r, id)); },
       false});
}

// Every task of the blocking pool goes through here: an exception escaping a thread_pool task
// would terminate the daemon, so it becomes a logged 500 ServiceException instead. (A reply
// already sent makes the second one a no-op.)
template <typename Work>
void ClientRoutes::on_blocking_pool(const std::string& request_id, api::Reply reply, Work work) {
  boost::asio::post(
      blocking_, [request_id, reply = std::move(reply), work = std::move(work)]() mutable {
        try {
          work(reply);
        } catch (const std::exception& e) {
          spdlog::error("request {}: {}", request_id, e.what());
          reply(api::to_http(
              api::ApiError::service("An internal error occurred: " + std::string(e.what())),
              request_id));
        } catch (...) {
          spdlog::error("request {}: non-standard exception", request_id);
          reply(api::to_http(api::ApiError::service("An internal error occurred"), request_id));
        }
      });
}

void ClientRoutes::handle(api::HttpRequest&& request, api::Reply reply) {
  const std::string request_id = common::new_request_id();
  auto match = routes_.find(request.method, request.path);
  const bool routed =
      match.route && (match.method_matches || match.route->handler.answers_other_methods);
  // Counted by route pattern and status when answered (a refused signature included).
  reply = [reply = std::move(reply), metrics = &*http_metrics_,
           series = routed ? static_cast<size_t>(match.route - routes_.routes().data())
                           : http_metrics_->unmatched(),
           started = std::chrono::steady_clock::now(),
           counted = false](api::HttpResponse response) mutable {
    // Once: the blocking pool's exception path may call a reply already sent (then a no-op).
    if (!counted) {
      counted = true;
      metrics->observe(series, response.status, std::chrono::steady_clock::now() - started);
    }
    reply(std::move(response));
  };
  if (authenticate_) {
    auto who = authenticate_(request);
    if (!who) return reply(api::to_http(who.error(), request_id));
    request.account = std::move(who->account);
    request.admin = who->admin;
  }
  if (routed) {
    const Handler& handler = match.route->handler;
    if (match.route->execution == RouteExecution::kIoThread)
      return handler.run(request, match.params, request_id, reply);
    return on_blocking_pool(
        request_id, std::move(reply),
        [&handler, request = std::move(request), params = std::move(match.params),
         request_id](api::Reply& r) { handler.run(request, params, request_id, r); });
  }
  // Operations runtimed knows but does not implement answer 501, so an SDK or Terraform reports
  // "not supported" instead of a 404 it would read as "the function does not exist". (No route in
  // the table has one of their paths.)
  if (auto op = api::unimplemented_operation(request.method, request.path)) {
    return reply(api::to_http(api::ApiError::not_implemented(fmt::format(
                                  "runtimed does not implement the Lambda operation {} ({} {})",
                                  *op, request.method, request.path)),
                              request_id));
  }
  // Not ResourceNotFound: SDKs read that as "the function does not exist".
  reply(api::to_http(
      api::ApiError::unknown_operation("No route for " + request.method + " " + request.path),
      request_id));
}

void ClientRoutes::set_cluster(cluster::ClusterNode* node, api::HttpServer& server,
                               std::function<std::optional<int>(const std::string&)> reserved_of) {
  cluster_ = node;
  forwarder_ =
      node ? std::make_unique<InvokeForwarder>(
                 *node, server, InvokeForwarder::Options{.reserved_of = std::move(reserved_of)})
           : nullptr;
}

void ClientRoutes::stop() {
  if (forwarder_) forwarder_->stop();
  blocking_.join();
}

void ClientRoutes::invoke(const api::HttpRequest& http, const std::string& request_id,
                          api::Reply& reply) {
  auto parsed = api::parse_invoke_request(http, {host_.region, host_.account_id});
  if (!parsed) return reply(api::to_http(parsed.error(), request_id));
  auto request = std::move(*parsed);
  const bool stream = api::is_invoke_stream_path(http.path);
  // Cluster mode: a synchronous call runs on its function's home node. Event invokes and
  // response streams run here (this slice); a forwarded call always does (one hop at most).
  if (forwarder_ && request.type != api::InvocationType::Event && !stream &&
      http.headers.find(kForwardedFromHeader) == http.headers.end()) {
    if (auto plan = forwarder_->plan(request.function_name)) {
      return forwarder_->forward(
          http, std::move(*plan), std::move(reply),
          [this, shared = std::make_shared<api::InvokeRequest>(std::move(request)),
           request_id](api::Reply here) {
            invoke_here(std::move(*shared), false, request_id, std::move(here));
          },
          request_id);
    }
  }
  invoke_here(std::move(request), stream, request_id, std::move(reply));
}

void ClientRoutes::invoke_here(api::InvokeRequest request, bool stream,
                               const std::string& request_id, api::Reply reply) {
  if (cluster_) {
    // For operators and tests: which node ran the call.
    reply = [reply = std::move(reply), node = cluster_->node_id()](api::HttpResponse r) {
      r.set_header(kNodeHeader, node);
      reply(std::move(r));
    };
  }
  if (request.type == api::InvocationType::DryRun) {
    on_blocking_pool(
        request_id, std::move(reply), [this, request, request_id](const api::Reply& reply) {
          auto config =
              apis_.functions.configuration_of({request.function_name, request.qualifier});
          if (!config) return reply(api::to_http(config.error(), request_id));
          reply(api::to_http(api::InvokeResult{.status = 204}, request, request_id));
        });
    return;
  }
  if (request.type == api::InvocationType::Event) {
    // 202 only once the event is committed to the state database (synchronous=FULL).
    on_blocking_pool(
        request_id, std::move(reply), [this, request, request_id](const api::Reply& reply) {
          // 503 when the event could not be accepted for a fault of ours (the configuration
          // unreadable, a node that never read it while the cluster's database is down; or the
          // enqueue failing): nothing was accepted, and the same call may succeed later. AWS SDKs
          // retry it.
          const auto not_accepted = [&] {
            reply(api::to_http(
                api::ApiError::service_unavailable(
                    "The event could not be stored, so it was not accepted; retry later"),
                request_id));
          };
          auto config =
              apis_.functions.configuration_of({request.function_name, request.qualifier});
          if (!config && config.error().type == api::ApiErrorType::Service) return not_accepted();
          if (!config) return reply(api::to_http(config.error(), request_id));
          if (auto ok = dispatcher_.enqueue(request.function_name, request.payload, request_id,
                                            request.qualifier.value_or(""));
              !ok) {
            spdlog::error("storing async event {}: {}", request_id, ok.error());
            return not_accepted();
          }
          reply(api::to_http(api::InvokeResult{.status = 202}, request, request_id));
        });
    return;
  }
  if (stream) {
    auto sink =
        std::make_shared<api::InvokeStreamResponse>(std::move(reply), request.tail_log, request_id);
    request.stream_sink = sink;
    controller_.invoke(std::move(request), request_id,
                       [sink](const api::InvokeResult& r) { sink->complete(r); });
    return;
  }
  auto shared_request = std::make_shared<api::InvokeRequest>(request);
  controller_.invoke(
      std::move(request), request_id,
      [reply = std::move(reply), shared_request, request_id](const api::InvokeResult& r) {
        reply(api::to_http(r, *shared_request, request_id));
      });
}

std::expected<std::string, api::ApiError> ClientRoutes::existing_function(
    const api::HttpRequest& request, const std::string& id) {
  auto name = api::resolve_name_for_caller(id, "", request, host_);
  if (!name) return std::unexpected(name.error());
  if (!catalog_.get(*name)) {
    return std::unexpected(api::ApiError::not_found(
        common::function_not_found_message(common::function_arn(host_, *name))));
  }
  return *name;
}

api::HttpResponse ClientRoutes::drain(const api::HttpRequest& request, const std::string& id,
                                      const std::string& request_id) {
  auto name = existing_function(request, id);
  if (!name) return api::to_http(name.error(), request_id);
  const size_t discarded = controller_.drain(*name);
  return json_response(
      200, {{"FunctionName", common::display_name(*name)}, {"DiscardedEnvironments", discarded}},
      request_id);
}

api::HttpResponse ClientRoutes::health(const std::string& request_id) {
  const auto s = controller_.stats();
  return json_response(200,
                       {{"status", "ok"},
                        {"environments", s.environments},
                        {"busy", s.busy},
                        {"idle", s.idle},
                        {"frozen", s.frozen},
                        {"prepared", s.prepared},
                        {"stems", s.stems},
                        {"memoryUsedMB", s.memory_used_mb},
                        {"memoryBudgetMB", s.memory_budget_mb},
                        {"concurrencyLimit", s.concurrency_limit},
                        {"coldStarts", s.cold_starts},
                        {"warmStarts", s.warm_starts},
                        {"throttles", s.throttles},
                        {"reservedConcurrency", s.reserved},
                        {"unreservedBusy", s.unreserved_busy}},
                       request_id);
}

api::HttpResponse ClientRoutes::environments(const api::HttpRequest& request,
                                             const std::string& request_id) {
  nlohmann::json list = nlohmann::json::array();
  const bool every_account = sees_every_account(request);
  for (const VersionEnvironments& v : controller_.environments_by_version()) {
    if (!every_account && !common::in_account(v.function, request.account)) continue;
    list.push_back({{"FunctionName", common::display_name(v.function)},
                    {"Account", common::account_of(host_, v.function)},
                    {"Version", v.version},
                    {"Starting", v.starting},
                    {"Busy", v.busy},
                    {"Warm", v.warm},
                    {"Frozen", v.frozen}});
  }
  return json_response(200, {{"Environments", std::move(list)}}, request_id);
}

api::HttpResponse ClientRoutes::cluster_status(const api::HttpRequest& request,
                                               const std::string& request_id) {
  if (!cluster_) {
    return api::to_http(api::ApiError::not_found("Cluster mode is off: this runtimed was started "
                                                 "without --cluster (docs/cluster.md)"),
                        request_id);
  }
  // Nodes and their addresses are the operator's, not one account's.
  if (!sees_every_account(request)) {
    return api::to_http(
        api::ApiError{api::ApiErrorType::AccessDenied,
                      "Only an admin key (admin = true in --credentials) may read the cluster"},
        request_id);
  }
  auto nodes = cluster_->nodes();
  if (!nodes) {
    return api::to_http(
        api::ApiError::service("The cluster database did not answer: " + nodes.error().message),
        request_id);
  }
  auto queue = cluster_->async_queue();
  if (!queue) {
    return api::to_http(
        api::ApiError::service("The cluster database did not answer: " + queue.error().message),
        request_id);
  }
  nlohmann::json list = nlohmann::json::array();
  for (const cluster::NodeStatus& n : *nodes) {
    list.push_back({{"NodeId", n.node_id},
                    {"Address", n.address},
                    {"State", cluster::to_string(n.state)},
                    {"LeaseRemainingMs", n.lease_remaining.count()},
                    {"HeartbeatAgeMs", n.heartbeat_age.count()},
                    {"FencingToken", n.fencing_token},
                    {"InFlight", n.in_flight},
                    {"AsyncInFlight", n.async_in_flight},
                    {"StartedAt", n.started_at}});
  }
  // The nodes this one routes to and splits reservations over (its view at its last heartbeat,
  // which may lag the table by a third of a lease).
  nlohmann::json routing = nlohmann::json::array();
  if (const auto view = cluster_->live_view())
    for (const auto& n : view->nodes) routing.push_back(n.node_id);
  return json_response(
      200,
      {{"NodeId", cluster_->node_id()},
       {"RoutingView", std::move(routing)},
       {"FencingToken", cluster_->fencing_token()},
       {"LeaseSeconds", std::chrono::duration<double>(cluster_->lease()).count()},
       {"Nodes", std::move(list)},
       {"AsyncEvents", {{"Queued", queue->queued}, {"InFlight", queue->in_flight}}}},
      request_id);
}

// Text from ?offset= (default: the last ?tail= bytes, 64 KiB); with ?follow=1 waits up to 20 s
// for new text. X-Runtimed-Log-Offset says where to continue.
api::HttpResponse ClientRoutes::logs(const std::string& id, const api::HttpRequest& request,
                                     const std::string& request_id) {
  auto name = existing_function(request, id);
  if (!name) return api::to_http(name.error(), request_id);
  // Numbers from the query: a client's typo is a 400, never an exception.
  const std::string offset_param = request.query_param("offset");
  const std::string tail_param = request.query_param("tail");
  const auto offset_value = parse_count(offset_param);
  const auto tail_value = parse_count(tail_param);
  if ((!offset_param.empty() && !offset_value) || (!tail_param.empty() && !tail_value)) {
    return api::to_http(
        api::ApiError::invalid_parameter(fmt::format(
            "offset and tail must be non-negative integers (got offset '{}', tail '{}')",
            offset_param, tail_param)),
        request_id);
  }
  auto log = logs_.get(*name);
  uint64_t offset = 0;
  if (!offset_param.empty()) {
    offset = *offset_value;
  } else {
    // The last 64 KiB, or the last ?tail= lines of the last 1 MiB.
    const uint64_t window = tail_value ? (1 << 20) : 65536;
    const uint64_t end = log->end_offset();
    offset = end > window ? end - window : 0;
  }
  std::string text = log->read_from(offset, 1 << 20);
  if (offset_param.empty() && tail_value) {
    const uint64_t lines = *tail_value;
    size_t pos = text.size();
    if (pos > 0 && text[pos - 1] == '\n') --pos;  // a trailing newline ends the last line
    for (size_t count = 0; pos > 0;) {
      const size_t nl = text.rfind('\n', pos - 1);
      if (nl == std::string::npos) {
        pos = 0;
        break;
      }
      if (++count == lines) {
        pos = nl + 1;
        break;
      }
      pos = nl;
    }
    text = lines == 0 ? std::string() : text.substr(pos);
  }
  if (text.empty() && request.query_param("follow") == "1" &&
      log->wait_for_text(offset, std::chrono::steady_clock::now() + std::chrono::seconds(20))) {
    text = log->read_from(offset, 1 << 20);
  }
  api::HttpResponse r;
  r.set_header("Content-Type", "text/plain; charset=utf-8");
  r.set_header("x-amzn-RequestId", request_id);
  r.set_header("X-Runtimed-Log-Offset", std::to_string(offset));
  // Where the text starts: the CLI says so when that is not the start of the log.
  r.set_header("X-Runtimed-Log-Start", std::to_string(offset - text.size()));
  r.body = std::move(text);
  return r;
}

}  // namespace runtimed
