// HTTP triggers against the real daemon (serve --http-listen): Function URLs managed by boto3 and
// called over HTTP (tests/integration/clients/boto3_function_urls.py), HTTP APIs whose routes
// reach functions with payload-2.0 events, by path prefix and by Host; the status codes of
// throttles, timeouts and errors; curl and a cookie-keeping client against both.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/eventually.hpp"
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
  // A Function URL (AuthType NONE) for `function`: the path of its FunctionUrl, which ends in "/".
  std::string create_url(const std::string& function) {
    auto r = daemon_->client().Post("/2021-10-31/functions/" + function + "/url",
                                    R"({"AuthType":"NONE"})", "application/json");
    EXPECT_TRUE(r);
    if (!r) return "";
    EXPECT_EQ(r->status, 201) << r->body;
    const std::string url = json::parse(r->body, nullptr, false).value("FunctionUrl", "");
    const std::string origin = "http://127.0.0.1:" + std::to_string(http_port_);
    EXPECT_TRUE(url.starts_with(origin + "/lambda-url/")) << url;
    return url.substr(origin.size());
  }
  // A Python function whose app.py is `code`.
  void create_python(const std::string& name, const std::string& code, int timeout = 10) {
    ASSERT_EQ(
        daemon_->create_function(
            name, {{"Runtime", "python3.12"}, {"Handler", "app.handler"}, {"Timeout", timeout}},
            testsupport::zip_of({{"app.py", code}})),
        201);
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

constexpr const char* kFailing = R"(import time
def handler(event, context):
    path = event["rawPath"]
    if path.endswith("/sleep"):
        time.sleep(5)
    if path.endswith("/raise"):
        raise RuntimeError("boom")
    if path.endswith("/malformed"):
        return {"statusCode": "teapot"}
    return "ran"
)";

// Lambda documents a throttled Function URL as 429 (urls-configuration, "Throttling function
// URLs"); API Gateway answers everything its Lambda integration failed at, a throttle or a
// function's timeout included, with 500 {"message":"Internal Server Error"}; a Function URL
// answers a function's error, timeout or malformed answer 502 (docs/http-triggers.md cites each).
TEST_F(DaemonHttpTriggerTest, ThrottlesTimeoutsAndErrorsAnswerAsEachFrontEndDocumentsThem) {
  create_python("failing", kFailing, /*timeout=*/1);
  create_python("throttled", kFailing);
  auto reserved =
      daemon_->client().Put("/2017-10-31/functions/throttled/concurrency",
                            R"({"ReservedConcurrentExecutions":0})", "application/json");
  ASSERT_TRUE(reserved);
  ASSERT_EQ(reserved->status, 200) << reserved->body;
  const std::string failing_url = create_url("failing");
  const std::string throttled_url = create_url("throttled");
  const std::string arn = "arn:aws:lambda:us-east-1:000000000000:function:";
  const json made = put_api(
      "errs", {{"Routes",
                {{{"RouteKey", "ANY /throttled/{rest+}"}, {"FunctionArn", arn + "throttled"}},
                 {{"RouteKey", "$default"}, {"FunctionArn", arn + "failing"}}}}});
  const std::string route = "/execute-api/" + made.value("ApiId", "") + "/";

  // Checks the answer to GET `path`; how long it took.
  auto expect_answer = [&](const std::string& path, int status,
                           const std::string& message) -> std::chrono::steady_clock::duration {
    const auto start = std::chrono::steady_clock::now();
    auto r = http().Get(path);
    if (!r) {
      ADD_FAILURE() << "no answer to " << path;
      return std::chrono::steady_clock::duration::max();
    }
    EXPECT_EQ(r->status, status) << path << " " << r->body;
    EXPECT_EQ(json::parse(r->body, nullptr, false), (json{{"message", message}})) << path;
    EXPECT_EQ(r->get_header_value("content-type"), "application/json") << path;
    return std::chrono::steady_clock::now() - start;
  };
  // The function is never started: at once.
  EXPECT_LT(expect_answer(throttled_url + "x", 429, "Too Many Requests"), std::chrono::seconds(1));
  EXPECT_LT(expect_answer(route + "throttled/x", 500, "Internal Server Error"),
            std::chrono::seconds(1));
  // Timeout 1 stops a 5 s sleep: after the function's timeout, not the sleep.
  for (const std::string& path : {failing_url + "sleep", route + "sleep"}) {
    const bool url = path == failing_url + "sleep";
    const auto took = expect_answer(path, url ? 502 : 500, "Internal Server Error");
    EXPECT_GE(took, std::chrono::seconds(1)) << path;
    EXPECT_LT(took, std::chrono::seconds(4)) << path;
  }
  expect_answer(failing_url + "raise", 502, "Internal Server Error");
  expect_answer(route + "raise", 500, "Internal Server Error");
  expect_answer(failing_url + "malformed", 502, "Internal Server Error");
  expect_answer(route + "malformed", 500, "Internal Server Error");
  // And the function still answers.
  auto ran = http().Get(failing_url + "fine");
  ASSERT_TRUE(ran);
  EXPECT_EQ(ran->status, 200);
  EXPECT_EQ(ran->body, "ran");
}

constexpr const char* kSlow = R"(import time
finished = 0
def handler(event, context):
    global finished
    if event["rawPath"].endswith("/sleep"):
        time.sleep(3)
        finished += 1
        print("slept", finished)
    return {"finished": finished}
)";

// API Gateway gives an integration at most TimeoutInMillis (30 s by default and at most), then
// answers 503 {"message":"Service Unavailable"}; the function is not stopped, it runs on to its
// own timeout (docs/http-triggers.md cites the sources).
TEST_F(DaemonHttpTriggerTest, ARoutePastItsIntegrationTimeoutAnswers503AndTheFunctionRunsOn) {
  create_python("slow", kSlow, /*timeout=*/10);
  const std::string arn = "arn:aws:lambda:us-east-1:000000000000:function:slow";
  for (const json& bad : {json(49), json(30001), json("1000"), json(1.5)}) {
    const json refused = put_api(
        "bad",
        {{"Routes", {{{"RouteKey", "$default"}, {"FunctionArn", arn}, {"TimeoutInMillis", bad}}}}},
        400);
    EXPECT_NE(refused.value("message", "").find("TimeoutInMillis"), std::string::npos) << bad;
  }
  const json made = put_api(
      "timed", {{"Routes",
                 {{{"RouteKey", "GET /quick/{any+}"}, {"FunctionArn", arn}},
                  {{"RouteKey", "$default"}, {"FunctionArn", arn}, {"TimeoutInMillis", 1000}}}}});
  ASSERT_EQ(made["Routes"].size(), 2u) << made;
  EXPECT_EQ(made["Routes"][0]["TimeoutInMillis"], 30000) << made;
  EXPECT_EQ(made["Routes"][1]["TimeoutInMillis"], 1000) << made;
  const std::string route = "/execute-api/" + made.value("ApiId", "") + "/";
  // Warm the environment, so the deadline measures the sleep, not a cold start.
  auto warm = http().Get(route + "quick/warm");
  ASSERT_TRUE(warm);
  ASSERT_EQ(warm->status, 200) << warm->body;

  const auto start = std::chrono::steady_clock::now();
  auto r = http().Get(route + "sleep");
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503) << r->body;
  EXPECT_EQ(json::parse(r->body, nullptr, false), (json{{"message", "Service Unavailable"}}));
  EXPECT_GE(took, std::chrono::milliseconds(1000));
  EXPECT_LT(took, std::chrono::milliseconds(2800));  // before the 3 s sleep ends
  // The invocation was not stopped: it finishes its sleep (in the function's log).
  EXPECT_TRUE(testsupport::eventually(
      [&] { return daemon_->function_log("slow").find("slept 1") != std::string::npos; },
      std::chrono::seconds(10)))
      << daemon_->function_log("slow");
  // A route with the default 30 s waits for the whole 3 s sleep (the same environment: its second).
  auto whole = http().Get(route + "quick/sleep");
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->status, 200) << whole->body;
  EXPECT_EQ(json::parse(whole->body, nullptr, false), (json{{"finished", 2}})) << whole->body;
}

constexpr const char* kWeb = R"(import base64, json
def handler(event, context):
    path = event["rawPath"]
    if path.endswith("/login"):
        return {"statusCode": 200, "body": "signed in",
                "cookies": ["session=abc123; Path=/; HttpOnly", "theme=dark; Path=/"]}
    if path.endswith("/whoami"):
        return event.get("cookies", [])
    if path.endswith("/echo"):
        body = event.get("body", "")
        raw = base64.b64decode(body) if event["isBase64Encoded"] else body.encode()
        return {"statusCode": 200, "headers": {"content-type": "application/octet-stream"},
                "isBase64Encoded": True, "body": base64.b64encode(raw).decode()}
    return {"statusCode": 200, "body": json.dumps(event)}
)";

// curl, the binary: its body and status code.
std::pair<int, std::string> curl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/curl", "-sS", "--noproxy", "*",
                                   "--max-time",    "30",  "-w",        "\n%{http_code}"};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto run = testsupport::run_command(argv);
  EXPECT_EQ(run.status, 0) << run;
  const size_t nl = run.out.rfind('\n');
  if (nl == std::string::npos) return {-1, run.out};
  return {std::atoi(run.out.c_str() + nl + 1), run.out.substr(0, nl)};
}

class DaemonHttpClientsTest : public DaemonHttpTriggerTest {
 protected:
  void SetUp() override {
    DaemonHttpTriggerTest::SetUp();
    create_python("web", kWeb);
    url_ = create_url("web");
    url_id_ = url_.substr(std::string("/lambda-url/").size());
    url_id_.pop_back();
    api_id_ = put_api("site",
                      {{"Routes",
                        {{{"RouteKey", "ANY /{proxy+}"},
                          {"FunctionArn", "arn:aws:lambda:us-east-1:000000000000:function:web"}}}}})
                  .value("ApiId", "");
  }
  std::string origin() const { return "http://127.0.0.1:" + std::to_string(http_port_); }
  std::string url_;  // the Function URL's path: /lambda-url/<url-id>/
  std::string url_id_;
  std::string api_id_;
};

TEST_F(DaemonHttpClientsTest, CurlReachesAFunctionUrlByPathAndByHostAndAnHttpApiRoute) {
  ASSERT_TRUE(std::filesystem::exists("/usr/bin/curl"));
  // By path prefix, with what a curl user sends: repeated headers and query names, cookies.
  auto [status, body] = curl({"-A", "rt-curl/1", "-H", "X-Two: a", "-H", "X-Two: b", "-b",
                              "c1=v1; c2=v2", origin() + url_ + "items/1?x=1&x=2&y=z%20w"});
  ASSERT_EQ(status, 200) << body;
  json e = json::parse(body, nullptr, false);
  EXPECT_EQ(e["rawPath"], "/items/1");
  EXPECT_EQ(e["rawQueryString"], "x=1&x=2&y=z%20w");
  EXPECT_EQ(e["queryStringParameters"], (json{{"x", "1,2"}, {"y", "z w"}}));
  EXPECT_EQ(e["headers"]["x-two"], "a,b");
  EXPECT_EQ(e["cookies"], json::array({"c1=v1", "c2=v2"}));
  EXPECT_EQ(e["requestContext"]["http"], (json{{"method", "GET"},
                                               {"path", "/items/1"},
                                               {"protocol", "HTTP/1.1"},
                                               {"sourceIp", "127.0.0.1"},
                                               {"userAgent", "rt-curl/1"}}));
  EXPECT_EQ(e["requestContext"]["apiId"], url_id_);
  EXPECT_TRUE(e["requestContext"].contains("authorizer")) << e;
  EXPECT_TRUE(e["requestContext"]["authorizer"].is_null()) << e;

  // HTTP/1.0 is told as such.
  std::tie(status, body) = curl({"--http1.0", origin() + url_ + "old"});
  ASSERT_EQ(status, 200) << body;
  EXPECT_EQ(json::parse(body, nullptr, false)["requestContext"]["http"]["protocol"], "HTTP/1.0");

  // By Host, as with wildcard DNS (curl resolves the name to loopback itself).
  const std::string host = url_id_ + ".lambda-url.us-east-1.localhost";
  const std::string port = std::to_string(http_port_);
  std::tie(status, body) = curl({"--resolve", host + ":" + port + ":127.0.0.1",
                                 "http://" + host + ":" + port + "/deep/path?q=1"});
  ASSERT_EQ(status, 200) << body;
  e = json::parse(body, nullptr, false);
  EXPECT_EQ(e["rawPath"], "/deep/path");
  EXPECT_EQ(e["rawQueryString"], "q=1");
  EXPECT_EQ(e["requestContext"]["domainName"], host);
  EXPECT_EQ(e["requestContext"]["domainPrefix"], url_id_);
  EXPECT_EQ(e["requestContext"]["apiId"], url_id_);
  EXPECT_EQ(e["headers"]["host"], host + ":" + port);
  // An unknown url id by Host is not found, whatever the path.
  std::tie(status, body) =
      curl({"-H", "Host: nosuchid.lambda-url.us-east-1.localhost", origin() + url_ + "deep/path"});
  EXPECT_EQ(status, 404) << body;

  // An HTTP API route.
  std::tie(status, body) = curl({"-X", "PUT", "-H", "Content-Type: application/json", "--data",
                                 R"({"k":1})", origin() + "/execute-api/" + api_id_ + "/items/7"});
  ASSERT_EQ(status, 200) << body;
  e = json::parse(body, nullptr, false);
  EXPECT_EQ(e["routeKey"], "ANY /{proxy+}");
  EXPECT_EQ(e["pathParameters"], (json{{"proxy", "items/7"}}));
  EXPECT_EQ(e["requestContext"]["http"]["method"], "PUT");
  EXPECT_EQ(e["body"], R"({"k":1})");
  EXPECT_FALSE(e["requestContext"].contains("authorizer")) << e;

  // A binary upload comes back byte for byte, through both.
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  const auto upload = scratch_.path() / "upload.bin";
  std::ofstream(upload, std::ios::binary) << bytes;
  for (const std::string& target :
       {origin() + url_ + "echo", origin() + "/execute-api/" + api_id_ + "/echo"}) {
    std::tie(status, body) = curl({"-H", "Content-Type: application/octet-stream", "--data-binary",
                                   "@" + upload.string(), target});
    EXPECT_EQ(status, 200) << target;
    EXPECT_EQ(body, bytes) << target;
  }
}

// http.cookiejar + urllib, as a browser keeps and sends cookies and uploads a file
// (tests/integration/clients/browser_cookies_binary.py), through the URL and the route.
TEST_F(DaemonHttpClientsTest, ABrowserStyleClientKeepsCookiesAndUploadsBinaryBodies) {
  const auto run = testsupport::run_client_script(
      "browser_cookies_binary.py", {origin() + url_, origin() + "/execute-api/" + api_id_ + "/"},
      scratch_.path());
  EXPECT_EQ(run.status, 0) << run << daemon_->daemon_log();
  EXPECT_NE(run.out.find("ok\n"), std::string::npos) << run;
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
