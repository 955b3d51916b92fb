// The HTTP trigger listener's handler (see http_trigger_server.hpp).
#include "runtimed/triggers/http_trigger_server.hpp"

#include <strings.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>

#include "api/http_cors.hpp"
#include "api/http_event_v2.hpp"
#include "api/http_route_match.hpp"
#include "api/sigv4.hpp"
#include "common/account_scope.hpp"
#include "common/ids.hpp"
#include "runtimed/triggers/trigger_urls.hpp"
#include "runtimed/triggers/url_response_stream.hpp"

namespace runtimed {

namespace {

using nlohmann::json;

// The gateway's own answers, as API Gateway words them: {"message": "..."}.
api::HttpResponse gateway_answer(int status, std::string_view message,
                                 const std::string& request_id) {
  api::HttpResponse response;
  response.status = status;
  response.body = json{{"message", message}}.dump();
  response.set_header("content-type", "application/json");
  response.set_header("x-amzn-requestid", request_id);
  return response;
}

// Which trigger a request is for: a Function URL's or an HTTP API's id, and the path the
// function sees. From the Host (<id>.lambda-url.…, <id>.execute-api.…) or a path prefix.
struct Target {
  enum class Kind { FunctionUrl, HttpApi } kind;
  std::string id;
  std::string raw_path;
  std::string domain_name;
};

std::optional<Target> target_of(const api::HttpRequest& request, const std::string& region) {
  std::string host = request.header("host");
  host =
      host.substr(0, host.rfind(':') == std::string::npos || host.back() == ']' ? host.size()
                                                                                : host.rfind(':'));
  const size_t dot = host.find('.');
  if (dot != std::string::npos && dot > 0) {
    const std::string_view rest = std::string_view(host).substr(dot);
    if (rest.starts_with(".lambda-url."))
      return Target{Target::Kind::FunctionUrl, host.substr(0, dot), request.raw_path, host};
    if (rest.starts_with(".execute-api."))
      return Target{Target::Kind::HttpApi, host.substr(0, dot), request.raw_path, host};
  }
  for (const auto& [prefix, kind, suffix] :
       {std::tuple{kFunctionUrlPrefix, Target::Kind::FunctionUrl, ".lambda-url."},
        std::tuple{kHttpApiPrefix, Target::Kind::HttpApi, ".execute-api."}}) {
    const std::string_view path = request.raw_path;
    if (!path.starts_with(prefix)) continue;
    const std::string_view after = path.substr(prefix.size());
    const size_t slash = after.find('/');
    std::string id(after.substr(0, slash));
    if (id.empty()) return std::nullopt;
    std::string rest = slash == std::string_view::npos ? "/" : std::string(after.substr(slash));
    std::string domain = id + suffix + region + ".localhost";
    return Target{kind, std::move(id), std::move(rest), std::move(domain)};
  }
  return std::nullopt;
}

// The function's answer as the front end returns it, in each front end's words
// (docs/http-triggers.md cites AWS for each). A Function URL answers a throttle 429 and a
// function error, a timeout or a malformed answer 502. An HTTP API answers everything Lambda
// refused or the function failed at, throttles and its timeouts included, with API Gateway's
// 500 {"message":"Internal Server Error"}; its integration timeout is 503 (handle()).
api::HttpResponse to_http_answer(const api::InvokeResult& result, Target::Kind kind,
                                 const std::string& request_id) {
  const bool url = kind == Target::Kind::FunctionUrl;
  if (result.api_error) {
    if (!url) return gateway_answer(500, "Internal Server Error", request_id);
    if (result.api_error->type == api::ApiErrorType::TooManyRequests)
      return gateway_answer(429, "Too Many Requests", request_id);
    if (result.api_error->type == api::ApiErrorType::ResourceNotFound)
      return gateway_answer(404, "Not Found", request_id);
    return gateway_answer(503, "Service Unavailable", request_id);
  }
  if (result.function_error)
    return gateway_answer(url ? 502 : 500, "Internal Server Error", request_id);
  // A streamed http-integration-response taken whole: its prelude is the head.
  auto response = result.content_type == kHttpIntegrationResponse
                      ? gathered_http_response(result.payload)
                      : api::http_response_v2(result.payload);
  if (!response) return gateway_answer(url ? 502 : 500, "Internal Server Error", request_id);
  const bool typed = std::ranges::any_of(response->headers, [](const auto& h) {
    return strcasecmp(h.first.c_str(), "content-type") == 0;
  });
  if (!typed) response->set_header("content-type", "application/json");
  response->set_header("x-amzn-requestid", request_id);
  return std::move(*response);
}

}  // namespace

api::HttpResponse HttpTriggerServer::too_large() {
  return gateway_answer(413, "Request Entity Too Large", common::new_request_id());
}

void HttpTriggerServer::handle(api::HttpRequest&& request, api::Reply reply) {
  const std::string request_id = common::new_request_id();
  auto target = target_of(request, identity_.region);
  if (!target) return reply(gateway_answer(404, "Not Found", request_id));

  api::HttpEventContext context;
  context.account_id = identity_.account_id;
  context.api_id = target->id;
  context.domain_name = target->domain_name;
  context.request_id = request_id;
  context.raw_path = target->raw_path;
  context.time = std::chrono::system_clock::now();
  api::InvokeRequest invoke;
  json cors;
  bool stream = false;
  int route_timeout_ms = api::kMaxIntegrationTimeoutMs;
  if (target->kind == Target::Kind::FunctionUrl) {
    auto config = store_.url_by_id(target->id);
    if (!config) return reply(gateway_answer(404, "Not Found", request_id));
    cors = config->cors;
    if (auto preflight = api::cors_preflight(cors, request)) return reply(std::move(*preflight));
    if (config->auth_type == "AWS_IAM") {
      // Another account's key has no permission on this function (no resource policies here).
      auto account = authenticate_ ? authenticate_(request)
                                   : std::expected<std::string, api::ApiError>(std::string());
      if (!account || *account != common::account_of(identity_, config->function))
        return reply(gateway_answer(403, "Forbidden", request_id));
      if (auto signature = api::parse_sigv4(request))
        context.iam_caller = {signature->access_key_id, *account};
    }
    context.function_url = true;
    // The function owner's account, as Lambda documents requestContext.accountId.
    context.account_id = std::string(common::account_of(identity_, config->function));
    invoke.function_name = config->function;
    if (!config->qualifier.empty()) invoke.qualifier = config->qualifier;
    stream = config->invoke_mode == "RESPONSE_STREAM";
  } else {
    auto api = store_.api_by_id(target->id);
    if (!api) return reply(gateway_answer(404, "Not Found", request_id));
    cors = api->cors;
    if (auto preflight = api::cors_preflight(cors, request)) return reply(std::move(*preflight));
    auto match = api::match_http_route(api->route_keys, request.method, target->raw_path);
    if (!match) return reply(gateway_answer(404, "Not Found", request_id));
    const HttpApiRoute& route = api->routes[match->route_index];
    context.route_key = match->route_key;
    if (!match->path_parameters.empty()) context.path_parameters = match->path_parameters;
    invoke.function_name = route.function;
    if (!route.qualifier.empty()) invoke.qualifier = route.qualifier;
    route_timeout_ms = route.timeout_ms;
  }
  invoke.payload = api::http_event_v2(request, context);
  const Target::Kind kind = target->kind;
  if (stream) {
    auto decorate = [request_id, cors, origin = request.header("origin")](api::HttpResponse& r) {
      r.set_header("x-amzn-requestid", request_id);
      api::add_cors_headers(cors, origin, r);
    };
    auto whole = [request_id, cors,
                  origin = request.header("origin")](const api::InvokeResult& result) {
      api::HttpResponse response = to_http_answer(result, Target::Kind::FunctionUrl, request_id);
      api::add_cors_headers(cors, origin, response);
      return response;
    };
    auto sink = std::make_shared<UrlResponseStream>(std::move(reply), decorate, whole);
    invoke.stream_sink = sink;
    controller_.invoke(std::move(invoke), request_id,
                       [sink](const api::InvokeResult& result) { sink->complete(result); });
    return;
  }
  if (kind == Target::Kind::FunctionUrl) {
    controller_.invoke(std::move(invoke), request_id,
                       [reply = std::move(reply), origin = request.header("origin"),
                        cors = std::move(cors), request_id](const api::InvokeResult& result) {
                         api::HttpResponse response =
                             to_http_answer(result, Target::Kind::FunctionUrl, request_id);
                         api::add_cors_headers(cors, origin, response);
                         reply(std::move(response));
                       });
    return;
  }
  // An HTTP API answers once: with the function's answer or, past the route's integration
  // timeout, API Gateway's 503 while the invocation runs on to the function's own timeout.
  struct OneAnswer {
    std::atomic<bool> given{false};
    api::Reply reply;
    std::string origin;
    json cors;
    IntegrationTimeouts::Entry deadline;
  };
  auto answer = std::make_shared<OneAnswer>();
  answer->reply = std::move(reply);
  answer->origin = request.header("origin");
  answer->cors = std::move(cors);
  answer->deadline = timeouts_->add(
      IntegrationTimeouts::Clock::now() + std::chrono::milliseconds(route_timeout_ms),
      [answer, request_id] {
        if (answer->given.exchange(true)) return;
        api::HttpResponse response = gateway_answer(503, "Service Unavailable", request_id);
        api::add_cors_headers(answer->cors, answer->origin, response);
        answer->reply(std::move(response));
      });
  controller_.invoke(std::move(invoke), request_id,
                     [answer, timeouts = timeouts_, request_id](const api::InvokeResult& result) {
                       if (answer->given.exchange(true)) return;
                       timeouts->cancel(answer->deadline);
                       api::HttpResponse response =
                           to_http_answer(result, Target::Kind::HttpApi, request_id);
                       api::add_cors_headers(answer->cors, answer->origin, response);
                       answer->reply(std::move(response));
                     });
}

}  // namespace runtimed
