#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "api/http_event_v2.hpp"

namespace {

using nlohmann::json;

api::HttpRequest request_with(std::string method, std::string raw_query = {}) {
  api::HttpRequest r;
  r.method = std::move(method);
  r.path = "/items/42";
  r.raw_path = "/items/42";
  r.raw_query = std::move(raw_query);
  r.remote_address = "127.0.0.9";
  return r;
}

api::HttpEventContext context_for(std::string raw_path) {
  api::HttpEventContext c;
  c.account_id = "123456789012";
  c.api_id = "abcdefghij";
  c.domain_name = "abcdefghij.lambda-url.us-east-1.localhost";
  c.request_id = "req-1";
  c.raw_path = std::move(raw_path);
  c.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1583348638390));
  return c;
}

TEST(HttpEventV2, CarriesTheRequestAsAPIGatewaysPayloadFormat2) {
  auto r = request_with("GET", "a=1&a=2&b=x%20y");
  r.query = {{"a", "1"}, {"a", "2"}, {"b", "x y"}};
  r.headers = {{"X-Custom", "one"},
               {"x-custom", "two"},
               {"User-Agent", "curl/7.88"},
               {"Cookie", "s=1; theme=dark"},
               {"Host", "abcdefghij.lambda-url.us-east-1.localhost"}};
  const json e = json::parse(api::http_event_v2(r, context_for("/items/42")));
  EXPECT_EQ(e["version"], "2.0");
  EXPECT_EQ(e["routeKey"], "$default");
  EXPECT_EQ(e["rawPath"], "/items/42");
  EXPECT_EQ(e["rawQueryString"], "a=1&a=2&b=x%20y");
  EXPECT_EQ(e["headers"]["x-custom"], "one,two");
  EXPECT_EQ(e["headers"]["user-agent"], "curl/7.88");
  EXPECT_FALSE(e["headers"].contains("cookie"));
  EXPECT_EQ(e["cookies"], json::array({"s=1", "theme=dark"}));
  EXPECT_EQ(e["queryStringParameters"], (json{{"a", "1,2"}, {"b", "x y"}}));
  const json& rc = e["requestContext"];
  EXPECT_EQ(rc["accountId"], "123456789012");
  EXPECT_EQ(rc["apiId"], "abcdefghij");
  EXPECT_EQ(rc["domainPrefix"], "abcdefghij");
  EXPECT_EQ(rc["http"]["method"], "GET");
  EXPECT_EQ(rc["http"]["path"], "/items/42");
  EXPECT_EQ(rc["http"]["sourceIp"], "127.0.0.9");
  EXPECT_EQ(rc["http"]["userAgent"], "curl/7.88");
  EXPECT_EQ(rc["time"], "04/Mar/2020:19:03:58 +0000");
  EXPECT_EQ(rc["timeEpoch"], 1583348638390);
  EXPECT_EQ(rc["stage"], "$default");
  EXPECT_FALSE(e.contains("body"));
  EXPECT_FALSE(e.contains("pathParameters"));
  EXPECT_EQ(e["isBase64Encoded"], false);
}

// The keys of an object, sorted.
std::set<std::string> keys_of(const json& object) {
  std::set<std::string> keys;
  for (const auto& [key, value] : object.items()) keys.insert(key);
  return keys;
}

// The request AWS's documented payload-2.0 examples describe: a POST to /my/path with a
// repeated query parameter and header, two cookies and a text body. The key sets below are those
// of the examples in "Working with AWS Lambda proxy integrations for HTTP APIs" (API Gateway
// developer guide, payload format 2.0) and "Invoking Lambda function URLs", "Request payload
// format" (Lambda developer guide), level by level.
api::HttpRequest documented_request() {
  api::HttpRequest r;
  r.method = "POST";
  r.path = r.raw_path = "/my/path";
  r.raw_query = "parameter1=value1&parameter1=value2&parameter2=value";
  r.query = {{"parameter1", "value1"}, {"parameter1", "value2"}, {"parameter2", "value"}};
  r.headers = {{"Header1", "value1"},   {"Header2", "value1"},          {"header2", "value2"},
               {"User-Agent", "agent"}, {"Content-Type", "text/plain"}, {"Cookie", "cookie1"},
               {"Cookie", "cookie2"}};
  r.body = "Hello from client!";
  r.remote_address = "123.123.123.123";
  return r;
}

const std::set<std::string> kEventKeys = {"version",
                                          "routeKey",
                                          "rawPath",
                                          "rawQueryString",
                                          "cookies",
                                          "headers",
                                          "queryStringParameters",
                                          "requestContext",
                                          "body",
                                          "pathParameters",
                                          "isBase64Encoded",
                                          "stageVariables"};
const std::set<std::string> kRequestContextKeys = {
    "accountId", "apiId",     "authentication", "authorizer", "domainName", "domainPrefix",
    "http",      "requestId", "routeKey",       "stage",      "time",       "timeEpoch"};
const std::set<std::string> kHttpKeys = {"method", "path", "protocol", "sourceIp", "userAgent"};

std::set<std::string> without(std::set<std::string> keys, std::initializer_list<const char*> out) {
  for (const char* key : out) keys.erase(key);
  return keys;
}

// What both documented examples agree on for the equivalent request.
void expect_documented_values(const json& e, const std::string& route_key) {
  EXPECT_EQ(e["version"], "2.0");
  EXPECT_EQ(e["routeKey"], route_key);
  EXPECT_EQ(e["rawPath"], "/my/path");
  EXPECT_EQ(e["rawQueryString"], "parameter1=value1&parameter1=value2&parameter2=value");
  EXPECT_EQ(e["cookies"], json::array({"cookie1", "cookie2"}));
  // Names lower-cased (the Function URL example; API Gateway's note says repeated ones are
  // comma-joined), so no cookie header beside `cookies`.
  EXPECT_EQ(e["headers"], (json{{"header1", "value1"},
                                {"header2", "value1,value2"},
                                {"user-agent", "agent"},
                                {"content-type", "text/plain"}}));
  EXPECT_EQ(e["queryStringParameters"],
            (json{{"parameter1", "value1,value2"}, {"parameter2", "value"}}));
  EXPECT_EQ(e["body"], "Hello from client!");
  EXPECT_EQ(e["isBase64Encoded"], false);
  const json& rc = e["requestContext"];
  EXPECT_EQ(rc["accountId"], "123456789012");
  EXPECT_EQ(rc["apiId"], "abcdefghij");
  EXPECT_EQ(rc["domainPrefix"], "abcdefghij");
  EXPECT_EQ(rc["requestId"], "req-1");
  EXPECT_EQ(rc["routeKey"], route_key);
  EXPECT_EQ(rc["stage"], "$default");
  // "12/Mar/2020:19:03:58 +0000" in the examples, whose timeEpoch is 4 March's.
  EXPECT_EQ(rc["time"], "04/Mar/2020:19:03:58 +0000");
  EXPECT_EQ(rc["timeEpoch"], 1583348638390);
  EXPECT_EQ(rc["http"], (json{{"method", "POST"},
                              {"path", "/my/path"},
                              {"protocol", "HTTP/1.1"},
                              {"sourceIp", "123.123.123.123"},
                              {"userAgent", "agent"}}));
}

// An HTTP API route has the example's keys but those of features runtimed's HTTP APIs do not
// have: `authentication` (mutual TLS), `authorizer` (authorizers), `stageVariables`.
TEST(HttpEventV2, AnHttpApiEventHasTheKeysOfAwsDocumentedExample) {
  auto c = context_for("/my/path");
  c.domain_name = "abcdefghij.execute-api.us-east-1.localhost";
  c.route_key = "POST /my/{parameter1}";
  c.path_parameters = std::map<std::string, std::string>{{"parameter1", "path"}};
  const json e = json::parse(api::http_event_v2(documented_request(), c));
  EXPECT_EQ(keys_of(e), without(kEventKeys, {"stageVariables"})) << e.dump(2);
  EXPECT_EQ(keys_of(e["requestContext"]),
            without(kRequestContextKeys, {"authentication", "authorizer"}));
  EXPECT_EQ(keys_of(e["requestContext"]["http"]), kHttpKeys);
  expect_documented_values(e, "POST /my/{parameter1}");
  EXPECT_EQ(e["requestContext"]["domainName"], "abcdefghij.execute-api.us-east-1.localhost");
  EXPECT_EQ(e["pathParameters"], (json{{"parameter1", "path"}}));
}

// A Function URL's: `authentication` null, `authorizer` null (AuthType NONE) or the signer
// (AWS_IAM), and neither `pathParameters` nor `stageVariables` ("null or excludes").
TEST(HttpEventV2, AFunctionUrlEventHasTheKeysOfAwsDocumentedExample) {
  auto c = context_for("/my/path");
  c.function_url = true;
  const json e = json::parse(api::http_event_v2(documented_request(), c));
  EXPECT_EQ(keys_of(e), without(kEventKeys, {"pathParameters", "stageVariables"})) << e.dump(2);
  EXPECT_EQ(keys_of(e["requestContext"]), kRequestContextKeys);
  EXPECT_EQ(keys_of(e["requestContext"]["http"]), kHttpKeys);
  expect_documented_values(e, "$default");
  EXPECT_EQ(e["requestContext"]["domainName"], "abcdefghij.lambda-url.us-east-1.localhost");
  for (const char* key : {"authentication", "authorizer"}) {
    ASSERT_TRUE(e["requestContext"].contains(key)) << key;
    EXPECT_TRUE(e["requestContext"][key].is_null()) << key;
  }

  c.iam_caller = api::HttpEventContext::IamCaller{"AKIDEXAMPLE", "111122223333"};
  const json signed_event = json::parse(api::http_event_v2(documented_request(), c));
  ASSERT_TRUE(signed_event["requestContext"].contains("authorizer"));
  ASSERT_TRUE(signed_event["requestContext"]["authorizer"].contains("iam")) << signed_event;
  const json& iam = signed_event["requestContext"]["authorizer"]["iam"];
  EXPECT_EQ(keys_of(iam),
            (std::set<std::string>{"accessKey", "accountId", "callerId", "cognitoIdentity",
                                   "principalOrgId", "userArn", "userId"}));
  EXPECT_EQ(iam["accessKey"], "AKIDEXAMPLE");
  EXPECT_EQ(iam["accountId"], "111122223333");
  EXPECT_EQ(iam["userArn"], "arn:aws:iam::111122223333:user/AKIDEXAMPLE");
}

TEST(HttpEventV2, ProtocolIsTheRequestsHttpVersion) {
  auto r = request_with("GET");
  r.version = 10;
  EXPECT_EQ(
      json::parse(api::http_event_v2(r, context_for("/")))["requestContext"]["http"]["protocol"],
      "HTTP/1.0");
  r.version = 11;
  EXPECT_EQ(
      json::parse(api::http_event_v2(r, context_for("/")))["requestContext"]["http"]["protocol"],
      "HTTP/1.1");
}

TEST(HttpEventV2, TextBodiesTravelAsTextAndOthersAsBase64) {
  auto r = request_with("POST");
  r.headers = {{"Content-Type", "application/json; charset=utf-8"}};
  r.body = R"({"k":1})";
  json e = json::parse(api::http_event_v2(r, context_for("/")));
  EXPECT_EQ(e["body"], R"({"k":1})");
  EXPECT_EQ(e["isBase64Encoded"], false);

  r.headers = {{"Content-Type", "application/octet-stream"}};
  r.body = std::string("\x00\xff\x01", 3);
  e = json::parse(api::http_event_v2(r, context_for("/")));
  EXPECT_EQ(e["body"], "AP8B");
  EXPECT_EQ(e["isBase64Encoded"], true);

  // Claimed text that is not UTF-8 cannot be a JSON string: base64 too.
  r.headers = {{"Content-Type", "text/plain"}};
  r.body = "\xc3\x28";
  e = json::parse(api::http_event_v2(r, context_for("/")));
  EXPECT_EQ(e["isBase64Encoded"], true);
  EXPECT_EQ(e["body"], "wyg=");
}

TEST(HttpEventV2, AnHttpApiRouteAddsItsKeyAndCaptures) {
  auto c = context_for("/items/42");
  c.route_key = "GET /items/{id}";
  c.path_parameters = std::map<std::string, std::string>{{"id", "42"}};
  const json e = json::parse(api::http_event_v2(request_with("GET"), c));
  EXPECT_EQ(e["routeKey"], "GET /items/{id}");
  EXPECT_EQ(e["requestContext"]["routeKey"], "GET /items/{id}");
  EXPECT_EQ(e["pathParameters"], (json{{"id", "42"}}));
}

TEST(HttpEventV2, ContentTypesOfText) {
  EXPECT_TRUE(api::is_text_content_type("text/html; charset=utf-8"));
  EXPECT_TRUE(api::is_text_content_type("Application/JSON"));
  EXPECT_TRUE(api::is_text_content_type("application/vnd.api+json"));
  EXPECT_TRUE(api::is_text_content_type("image/svg+xml"));
  EXPECT_FALSE(api::is_text_content_type("image/png"));
  EXPECT_FALSE(api::is_text_content_type("application/octet-stream"));
}

TEST(HttpResponseV2, AStructuredAnswerSetsStatusHeadersCookiesAndBody) {
  auto r = api::http_response_v2(
      R"({"statusCode":201,"headers":{"X-A":"1","X-N":5},"cookies":["a=1","b=2; Secure"],)"
      R"("body":"created"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "created");
  using H = std::pair<std::string, std::string>;
  EXPECT_EQ(r->headers,
            (std::vector<H>{
                {"X-A", "1"}, {"X-N", "5"}, {"set-cookie", "a=1"}, {"set-cookie", "b=2; Secure"}}));
}

TEST(HttpResponseV2, ABase64BodyIsDecoded) {
  auto r = api::http_response_v2(R"({"statusCode":200,"body":"AP8B","isBase64Encoded":true})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, std::string("\x00\xff\x01", 3));
  EXPECT_FALSE(api::http_response_v2(R"({"statusCode":200,"body":"*","isBase64Encoded":true})"));
}

TEST(HttpResponseV2, JsonWithoutStatusCodeIsA200OfThatJson) {
  auto r = api::http_response_v2(R"({"message":"hi"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"message":"hi"})");
  EXPECT_EQ(
      r->headers,
      (std::vector<std::pair<std::string, std::string>>{{"content-type", "application/json"}}));
  r = api::http_response_v2(R"("Hello, world!")");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "Hello, world!");
  r = api::http_response_v2("[1,2]");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "[1,2]");
}

TEST(HttpResponseV2, MalformedAnswersAreRefused) {
  EXPECT_FALSE(api::http_response_v2("not json"));
  EXPECT_FALSE(api::http_response_v2(R"({"statusCode":"200"})"));
  EXPECT_FALSE(api::http_response_v2(R"({"statusCode":42})"));
  EXPECT_FALSE(api::http_response_v2(R"({"statusCode":200,"headers":["x"]})"));
  EXPECT_FALSE(api::http_response_v2(R"({"statusCode":200,"headers":{"x":{"y":1}}})"));
  EXPECT_FALSE(api::http_response_v2(R"({"statusCode":200,"cookies":"a=1"})"));
}

}  // namespace
