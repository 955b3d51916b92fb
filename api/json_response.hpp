// The one way a Lambda API handler answers with a JSON body.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "api/http_types.hpp"

namespace api {

// Status, Content-Type application/json, x-amzn-RequestId and the body. Strings that are not UTF-8
// (a function's own bytes) are written with replacement characters rather than throwing.
HttpResponse json_response(int status, const nlohmann::json& body, const std::string& request_id);
// 204 with x-amzn-RequestId: what Lambda's deletes (and tagging calls) answer.
HttpResponse no_content_response(const std::string& request_id);

}  // namespace api
