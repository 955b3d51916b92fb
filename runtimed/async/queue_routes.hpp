// runtimed's own HTTP endpoints for the local message queues (/runtimed/v1/queues…) and each
// function's asynchronous backlog (/runtimed/v1/functions/{name}/async).
#pragma once

#include <string>

#include "api/function_catalog.hpp"
#include "api/http_types.hpp"
#include "common/lambda_identity.hpp"
#include "runtimed/async/async_dispatcher.hpp"
#include "runtimed/async/async_queue.hpp"
#include "runtimed/async/message_queues.hpp"

namespace runtimed {

class QueueRoutes {
 public:
  QueueRoutes(MessageQueues& queues, AsyncQueue& events, AsyncDispatcher& dispatcher,
              api::FunctionCatalog& catalog, const common::LambdaIdentity& identity)
      : queues_(queues),
        events_(events),
        dispatcher_(dispatcher),
        catalog_(catalog),
        identity_(identity) {}

  static bool matches(const api::HttpRequest& request);
  // Touches SQLite: call it off the io threads.
  api::HttpResponse handle(const api::HttpRequest& request, const std::string& request_id);

 private:
  api::HttpResponse backlog(const std::string& function, const std::string& request_id);
  // PUT /runtimed/v1/queues/{name}: create, or change VisibilityTimeout and RedrivePolicy.
  api::HttpResponse put_queue(const api::HttpRequest& request, const std::string& queue,
                              const std::string& request_id);

  MessageQueues& queues_;
  AsyncQueue& events_;
  AsyncDispatcher& dispatcher_;
  api::FunctionCatalog& catalog_;
  common::LambdaIdentity identity_;
};

}  // namespace runtimed
