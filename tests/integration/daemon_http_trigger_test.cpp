// HTTP triggers against the real daemon (serve --http-listen): Function URLs managed by boto3 and
// called over HTTP (tests/integration/clients/boto3_function_urls.py), and HTTP APIs whose routes
// reach functions with payload-2.0 events, by path prefix and by Host.
#include <gtest/gtest.h>

#include "tests/integration/daemon_test.hpp"

namespace {

using nlohmann::json;

class DaemonHttpTriggerTest : public testsupport::DaemonTest {
 protected:
  void SetUp() override {
    start({"--http-listen", "127.0.0.1:0"});
    http_port_ = daemon_->http_port();
    ASSERT_GT(http_port_, 0) << daemon_->daemon_log();
  }
  httplib::Client http() const {
    httplib::Client c("127.0.0.1", http_port_);
    c.set_read_timeout(60, 0);
    return c;
  }
  json put_api(const std::string& name, const json& body, int expected = 200) {
    auto r =
        daemon_->client().Put("/runtimed/v1/http-apis/" + name, body.dump(), "application/json");
    EXPECT_TRUE(r);
    if (!r) return json();
    EXPECT_EQ(r->status, expected) << r->body;
    return json::parse(r->body, nullptr, false);
  }
  int http_port_ = 0;
  testsupport::TempDir scratch_{"rt-http-trigger"};
};

TEST_F(DaemonHttpTriggerTest, Boto3ManagesFunctionUrlsThatServeHttpRequests) {
  const auto run = testsupport::run_client_script(
      "boto3_function_urls.py", {"http://127.0.0.1:" + std::to_string(daemon_->port())},
      scratch_.path());
  EXPECT_EQ(run.status, 0) << run << daemon_->daemon_log();
  EXPECT_NE(run.out.find("ok\n"), std::string::npos) << run;
}

constexpr const char* kRouteEcho = R"(import json
def handler(event, context):
    return {"statusCode": 200, "body": json.dumps({
        "routeKey": event["routeKey"], "rawPath": event["rawPath"],
        "pathParameters": event.get("pathParameters"),
        "domainName": event["requestContext"]["domainName"], "fn": context.function_name})}
)";

TEST_F(DaemonHttpTriggerTest, AnHttpApiRoutesByMethodAndPathToItsFunctions) {
  for (const char* name : {"items", "fallback"}) {
    ASSERT_EQ(
        daemon_->create_function(name, {{"Runtime", "python3.12"}, {"Handler", "app.handler"}},
                                 testsupport::zip_of({{"app.py", kRouteEcho}})),
        201);
  }
  const std::string arn = "arn:aws:lambda:us-east-1:000000000000:function:";
  // Validation first: a bad key, a missing function, a repeated key.
  put_api("shop", {{"Routes", {{{"RouteKey", "GET items"}, {"FunctionArn", arn + "items"}}}}}, 400);
  put_api("shop", {{"Routes", {{{"RouteKey", "GET /x"}, {"FunctionArn", arn + "nope"}}}}}, 404);
  put_api("shop",
          {{"Routes",
            {{{"RouteKey", "GET /x"}, {"FunctionArn", arn + "items"}},
             {{"RouteKey", "GET /x"}, {"FunctionArn", arn + "items"}}}}},
          409);

  const json made =
      put_api("shop", {{"Routes",
                        {{{"RouteKey", "GET /items/{id}"}, {"FunctionArn", arn + "items"}},
                         {{"RouteKey", "ANY /files/{path+}"}, {"FunctionArn", arn + "items"}},
                         {{"RouteKey", "$default"}, {"FunctionArn", arn + "fallback"}}}}});
  const std::string api_id = made.value("ApiId", "");
  ASSERT_EQ(api_id.size(), 10u) << made;
  EXPECT_EQ(made["ApiEndpoint"],
            "http://127.0.0.1:" + std::to_string(http_port_) + "/execute-api/" + api_id);
  // A second PUT replaces the routes and keeps the id.
  EXPECT_EQ(
      put_api("shop", {{"Routes",
                        {{{"RouteKey", "GET /items/{id}"}, {"FunctionArn", arn + "items"}},
                         {{"RouteKey", "ANY /files/{path+}"}, {"FunctionArn", arn + "items"}},
                         {{"RouteKey", "$default"}, {"FunctionArn", arn + "fallback"}}}}})["ApiId"],
      api_id);

  auto get = [&](const std::string& path, const httplib::Headers& headers = {}) {
    auto r = http().Get(path, headers);
    EXPECT_TRUE(r) << path;
    return r ? std::make_pair(r->status, json::parse(r->body, nullptr, false))
             : std::make_pair(-1, json());
  };
  const std::string prefix = "/execute-api/" + api_id;
  auto [status, body] = get(prefix + "/items/42");
  EXPECT_EQ(status, 200) << body;
  EXPECT_EQ(body["routeKey"], "GET /items/{id}");
  EXPECT_EQ(body["rawPath"], "/items/42");
  EXPECT_EQ(body["pathParameters"], (json{{"id", "42"}}));
  EXPECT_EQ(body["fn"], "items");
  std::tie(status, body) = get(prefix + "/files/a/b/c.txt");
  EXPECT_EQ(body["pathParameters"], (json{{"path", "a/b/c.txt"}})) << body;
  std::tie(status, body) = get(prefix + "/elsewhere");
  EXPECT_EQ(body["routeKey"], "$default");
  EXPECT_EQ(body["fn"], "fallback");
  EXPECT_TRUE(body["pathParameters"].is_null()) << body;

  // By Host, as with wildcard DNS: the path is the function's whole path.
  std::tie(status, body) =
      get("/items/7", {{"Host", api_id + ".execute-api.us-east-1.localhost:8080"}});
  EXPECT_EQ(status, 200) << body;
  EXPECT_EQ(body["pathParameters"], (json{{"id", "7"}}));
  EXPECT_EQ(body["domainName"], api_id + ".execute-api.us-east-1.localhost");

  auto listed = daemon_->client().Get("/runtimed/v1/http-apis");
  ASSERT_TRUE(listed);
  EXPECT_EQ(json::parse(listed->body)["Items"].size(), 1u) << listed->body;
  ASSERT_EQ(daemon_->client().Delete("/runtimed/v1/http-apis/shop")->status, 204);
  EXPECT_EQ(get(prefix + "/items/42").first, 404);
  EXPECT_EQ(daemon_->client().Delete("/runtimed/v1/http-apis/shop")->status, 404);
  EXPECT_EQ(get("/nothing/here").first, 404);
}

// Without --http-listen there is nothing to serve a URL: creating one says how to turn it on.
TEST(DaemonWithoutHttpListenerTest, RefusesFunctionUrlsAndSaysWhy) {
  testsupport::DaemonProcess daemon;
  ASSERT_EQ(daemon.create_function("fn"), 201);
  auto r = daemon.client().Post("/2021-10-31/functions/fn/url", R"({"AuthType":"NONE"})",
                                "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("--http-listen"), std::string::npos) << r->body;
  testsupport::expect_clean_stop(daemon);
}

}  // namespace
