// The HTTP trigger listener's handler (`serve --http-listen`): finds a request's Function URL or
// HTTP API route (by Host or by path prefix, trigger_urls.hpp), answers CORS preflights, checks
// AWS_IAM signatures, invokes the function synchronously with a payload-2.0 event and turns its
// answer into the HTTP response, with the status codes AWS's front ends use for failures.
#pragma once

#include <expected>
#include <functional>
#include <memory>
#include <string>

#include "api/http_types.hpp"
#include "api/lambda_error.hpp"
#include "runtimed/controller/controller.hpp"
#include "runtimed/triggers/http_trigger_store.hpp"
#include "runtimed/triggers/integration_timeouts.hpp"

namespace runtimed {

class HttpTriggerServer {
 public:
  // Verifies a request's SigV4 signature (the daemon's credentials), for AWS_IAM URLs: the
  // signing key's account, which must be the function's. Unset, AWS_IAM URLs refuse every request.
  using Authenticator =
      std::function<std::expected<std::string, api::ApiError>(const api::HttpRequest&)>;

  HttpTriggerServer(HttpTriggerStore& store, Controller& controller,
                    const common::LambdaIdentity& identity, Authenticator authenticate)
      : store_(store),
        controller_(controller),
        identity_(identity),
        authenticate_(std::move(authenticate)) {}

  // On the io thread that read the request; `reply` is called once, from any thread.
  void handle(api::HttpRequest&& request, api::Reply reply);
  // The answer to a body over Lambda's 6 MB payload limit, in the gateway's words.
  static api::HttpResponse too_large();

 private:
  HttpTriggerStore& store_;
  Controller& controller_;
  common::LambdaIdentity identity_;
  Authenticator authenticate_;
  // Shared with the invocations' completions, which may outlive this server at shutdown.
  std::shared_ptr<IntegrationTimeouts> timeouts_ = std::make_shared<IntegrationTimeouts>();
};

}  // namespace runtimed
