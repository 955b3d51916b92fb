// runtimed's own endpoints for deployed stacks' records (/runtimed/v1/stacks…): the deployer
// (`runtimed deploy`, `runtimed stack …`) keeps what it applied here, so it works against a remote
// daemon.
#pragma once

#include <string>

#include "api/http_types.hpp"
#include "common/lambda_identity.hpp"
#include "runtimed/store/stack_store.hpp"

namespace runtimed {

class StackRoutes {
 public:
  StackRoutes(StackStore& stacks, common::LambdaIdentity host)
      : stacks_(stacks), host_(std::move(host)) {}

  // PUT/GET/DELETE /runtimed/v1/stacks/{name}, GET /runtimed/v1/stacks (which also says the
  // daemon's Region and AccountId: the deployer builds ARNs with them). Touches SQLite: call it
  // off the io threads.
  api::HttpResponse handle(const api::HttpRequest& request, const std::string& request_id);

 private:
  StackStore& stacks_;
  common::LambdaIdentity host_;
};

// A stack name as CloudFormation allows: a letter, then letters, digits and '-', at most 128.
bool valid_stack_name(const std::string& name);

}  // namespace runtimed
