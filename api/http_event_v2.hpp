// API Gateway's payload format 2.0, which Function URLs and HTTP APIs share: the event an HTTP
// request becomes, and how a function's answer becomes the HTTP response. Pure functions, no I/O.
// Sources: docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html (payloads) and
// docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "api/http_types.hpp"

namespace api {

// What the event says about where the request came in, beside the request itself.
struct HttpEventContext {
  std::string account_id;
  std::string api_id;       // a Function URL's url id, or an HTTP API's id
  std::string domain_name;  // the Host the request named (or the one its URL would)
  std::string request_id;
  std::string route_key = "$default";
  std::string raw_path;  // the path the function sees (a path-prefix route's prefix removed)
  // An HTTP API route's captures; a Function URL has none (the event then has no pathParameters).
  std::optional<std::map<std::string, std::string>> path_parameters;
  std::chrono::system_clock::time_point time;
  // A Function URL's event always has requestContext.authentication (null) and .authorizer:
  // null, or the signer of an AWS_IAM URL's request. An HTTP API without authorizers or mutual
  // TLS has neither key.
  bool function_url = false;
  struct IamCaller {
    std::string access_key;
    std::string account_id;
  };
  std::optional<IamCaller> iam_caller;
};

// The event, serialized. Header names are lower-cased and repeated headers comma-joined;
// Cookie headers become `cookies`; a body whose Content-Type is not text is base64-encoded.
std::string http_event_v2(const HttpRequest& request, const HttpEventContext& context);

// Whether a body of this Content-Type travels as text (else as base64).
bool is_text_content_type(std::string_view content_type);

// The function's answer read as the gateway reads it. A JSON object with statusCode gives
// status, headers, cookies (each a Set-Cookie) and body (decoded when isBase64Encoded); other
// valid JSON is a 200 application/json whose body is that JSON (a JSON string: its text).
// Anything else is malformed: nullopt, which the caller answers with its gateway's error.
std::optional<HttpResponse> http_response_v2(std::string_view function_payload);

}  // namespace api
