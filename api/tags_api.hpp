// Lambda's tagging API on functions: ListTags, TagResource and UntagResource at
// /2017-03-31/tags/{ARN}. Tags are the function's, not a version's, and do not change its
// RevisionId; a change still reaches the controller, since `runtimed:network` is read from them.
#pragma once

#include <string>

#include "api/function_api.hpp"
#include "api/function_catalog.hpp"
#include "api/http_types.hpp"

namespace api {

class TagsApi {
 public:
  TagsApi(FunctionCatalog& catalog, const FunctionApi& functions)
      : catalog_(catalog), functions_(functions) {}

  HttpResponse handle(const HttpRequest& request, const std::string& request_id);

 private:
  FunctionCatalog& catalog_;
  const FunctionApi& functions_;
};

}  // namespace api
