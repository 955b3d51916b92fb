// Tests of RuntimeApiEndpoint over a real loopback socket, with raw HTTP and curl as the runtime.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "api/runtime_api.hpp"
#include "tests/unit/raw_http_client.hpp"

namespace api {
namespace {

using testutil::RawHttpClient;
using Kind = InvocationOutcome::Kind;
constexpr const char* kBase = "/2018-06-01/runtime";

// Records the endpoint's callbacks; waits for them with a deadline.
struct Recorder {
  std::mutex mu;
  std::condition_variable cv;
  int first_next = 0;
  std::vector<std::pair<std::string, InvocationOutcome>> outcomes;
  std::vector<InvocationOutcome> init_errors;
  std::vector<std::string> taken;  // on_event_taken, in order

  RuntimeApiCallbacks callbacks() {
    return {
        [this] { bump([&] { ++first_next; }); },
        [this](const std::string& id, InvocationOutcome o) {
          bump([&] { outcomes.emplace_back(id, std::move(o)); });
        },
        [this](InvocationOutcome o) { bump([&] { init_errors.push_back(std::move(o)); }); },
        [this](const std::string& id) { bump([&] { taken.push_back(id); }); },
    };
  }
  template <class F>
  void bump(F f) {
    std::lock_guard lock(mu);
    f();
    cv.notify_all();
  }
  template <class Pred>
  bool wait(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, limit, pred);
  }
  bool wait_outcomes(size_t n) {
    return wait([&] { return outcomes.size() >= n; });
  }
};

class RuntimeApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const int fd = testutil::make_listening_socket(&port_);
    auto made = RuntimeApiEndpoint::create(server_, fd, 1, rec_.callbacks());
    ASSERT_TRUE(made.has_value()) << made.error();
    endpoint_ = std::move(*made);
  }

  InvocationEvent event(const std::string& id, std::string payload = R"({"k":1})") {
    InvocationEvent e;
    e.request_id = id;
    e.deadline_ms = 1700000000123;
    e.invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:fn";
    e.payload = std::move(payload);
    return e;
  }

  // Polls /next on `c` after delivering `id` with a streaming caller's `sink`.
  std::optional<testutil::RawResponse> next_streaming(RawHttpClient& c, const std::string& id,
                                                      std::shared_ptr<ResponseStreamSink> sink) {
    InvocationEvent e = event(id);
    e.stream_sink = std::move(sink);
    endpoint_->deliver(std::move(e));
    return c.request("GET", std::string(kBase) + "/invocation/next");
  }

  // Polls /next on `c` after delivering `id`; returns the event response.
  std::optional<testutil::RawResponse> next_with(RawHttpClient& c, const std::string& id) {
    endpoint_->deliver(event(id));
    return c.request("GET", std::string(kBase) + "/invocation/next");
  }

  HttpServer server_{2};
  Recorder rec_;
  uint16_t port_ = 0;
  std::unique_ptr<RuntimeApiEndpoint> endpoint_;
};

nlohmann::json json_of(const testutil::RawResponse& r) { return nlohmann::json::parse(r.body); }

TEST_F(RuntimeApiTest, NextParksUntilDeliverAndCarriesTheInvocationHeaders) {
  RawHttpClient rt(port_);
  ASSERT_TRUE(rt.send_request("GET", std::string(kBase) + "/invocation/next"));
  ASSERT_TRUE(rec_.wait([&] { return rec_.first_next == 1; }));
  EXPECT_FALSE(rt.readable_within(200)) << "/next answered before an event existed";

  InvocationEvent e = event("req-1", R"({"hello":"world"})");
  e.trace_id = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0";
  e.client_context = R"({"custom":{"a":"b"}})";
  endpoint_->deliver(e);
  auto r = rt.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"hello":"world"})");
  EXPECT_EQ(r->header("Lambda-Runtime-Aws-Request-Id"), "req-1");
  EXPECT_EQ(r->header("Lambda-Runtime-Deadline-Ms"), "1700000000123");
  EXPECT_EQ(r->header("Lambda-Runtime-Invoked-Function-Arn"), e.invoked_function_arn);
  EXPECT_EQ(r->header("Lambda-Runtime-Trace-Id"), e.trace_id);
  EXPECT_EQ(r->header("Lambda-Runtime-Client-Context"), e.client_context);
  EXPECT_FALSE(r->has_header("Lambda-Runtime-Cognito-Identity"));
  EXPECT_EQ(r->header("Content-Type"), "application/json");
}

TEST_F(RuntimeApiTest, AnEventCountsAsTakenOnlyWhenNextIsAnsweredWithIt) {
  endpoint_->deliver(event("queued"));
  EXPECT_FALSE(rec_.wait([&] { return !rec_.taken.empty(); }, std::chrono::milliseconds(200)));
  EXPECT_EQ(endpoint_->events_handed_out(), 0u);
  RawHttpClient rt(port_);
  auto r = rt.request("GET", std::string(kBase) + "/invocation/next");
  ASSERT_TRUE(r);
  ASSERT_TRUE(rec_.wait([&] { return rec_.taken.size() == 1; }));
  EXPECT_EQ(rec_.taken, std::vector<std::string>{"queued"});
  EXPECT_EQ(endpoint_->events_handed_out(), 1u);
}

TEST_F(RuntimeApiTest, EventDeliveredBeforeNextIsServedImmediately) {
  endpoint_->deliver(event("early"));
  RawHttpClient rt(port_);
  auto r = rt.request("GET", std::string(kBase) + "/invocation/next");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("Lambda-Runtime-Aws-Request-Id"), "early");
  EXPECT_FALSE(r->has_header("Lambda-Runtime-Trace-Id"));
  EXPECT_FALSE(r->has_header("Lambda-Runtime-Client-Context"));
}

TEST_F(RuntimeApiTest, ResponseReachesOnOutcomeWithBodyAndContentType) {
  RawHttpClient rt(port_);
  ASSERT_TRUE(next_with(rt, "r1"));
  auto r = rt.request("POST", std::string(kBase) + "/invocation/r1/response", "plain result",
                      "Content-Type: text/plain\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  EXPECT_EQ(json_of(*r)["status"], "OK");
  ASSERT_TRUE(rec_.wait_outcomes(1));
  EXPECT_EQ(rec_.outcomes[0].first, "r1");
  EXPECT_EQ(rec_.outcomes[0].second.kind, Kind::Response);
  EXPECT_EQ(rec_.outcomes[0].second.body, "plain result");
  EXPECT_EQ(rec_.outcomes[0].second.content_type, "text/plain");
}

TEST_F(RuntimeApiTest, ManyInvocationsCycleOnOneKeepAliveConnection) {
  RawHttpClient rt(port_);
  for (int i = 0; i < 50; ++i) {
    const std::string id = "id-" + std::to_string(i);
    auto n = next_with(rt, id);
    ASSERT_TRUE(n);
    ASSERT_EQ(n->header("Lambda-Runtime-Aws-Request-Id"), id);
    auto r = rt.request("POST", std::string(kBase) + "/invocation/" + id + "/response", id);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 202);
  }
  ASSERT_TRUE(rec_.wait_outcomes(50));
  EXPECT_EQ(rec_.outcomes[49].second.body, "id-49");
  EXPECT_EQ(rec_.first_next, 1);
}

TEST_F(RuntimeApiTest, ResponseForAnotherIdIsInvalidRequestId) {
  RawHttpClient rt(port_);
  ASSERT_TRUE(next_with(rt, "r1"));
  auto r = rt.request("POST", std::string(kBase) + "/invocation/other/response", "x");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->header("Content-Type"), "application/json");
  EXPECT_EQ(json_of(*r)["errorType"], "InvalidRequestID");
  EXPECT_TRUE(json_of(*r)["errorMessage"].is_string());
  // The invocation is still outstanding and can be answered.
  auto ok = rt.request("POST", std::string(kBase) + "/invocation/r1/response", "x");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 202);
}

TEST_F(RuntimeApiTest, SecondResponseForTheSameIdIsInvalidStateTransition) {
  RawHttpClient rt(port_);
  ASSERT_TRUE(next_with(rt, "r1"));
  ASSERT_EQ(rt.request("POST", std::string(kBase) + "/invocation/r1/response", "a")->status, 202);
  auto r = rt.request("POST", std::string(kBase) + "/invocation/r1/response", "b");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(json_of(*r)["errorType"], "InvalidStateTransition");
  auto e = rt.request("POST", std::string(kBase) + "/invocation/r1/error", "{}");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, 403);
  ASSERT_TRUE(rec_.wait_outcomes(1));
  EXPECT_EQ(rec_.outcomes.size(), 1u);
}

TEST_F(RuntimeApiTest, NextWhileInvocationOutstandingResendsTheSameEvent) {
  RawHttpClient rt(port_);
  auto first = next_with(rt, "r1");
  ASSERT_TRUE(first);
  RawHttpClient again(port_);  // a runtime that lost its connection and polls again
  auto second = again.request("GET", std::string(kBase) + "/invocation/next");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(second->header("Lambda-Runtime-Aws-Request-Id"), "r1");
  EXPECT_EQ(second->body, first->body);
}

TEST_F(RuntimeApiTest, ErrorWithTypeHeaderIsNormalisedAndPassedOn) {
  RawHttpClient rt(port_);
  ASSERT_TRUE(next_with(rt, "r1"));
  const std::string body =
      R"({"errorMessage":"bad","errorType":"ValueError","stackTrace":["line 1"]})";
  auto r = rt.request("POST", std::string(kBase) + "/invocation/r1/error", body,
                      "Lambda-Runtime-Function-Error-Type: Function.badLowercase\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  ASSERT_TRUE(rec_.wait_outcomes(1));
  const auto& o = rec_.outcomes[0].second;
  EXPECT_EQ(o.kind, Kind::FunctionError);
  EXPECT_EQ(o.error_type, "Function.Unknown");
  EXPECT_EQ(o.body, body);
}

TEST_F(RuntimeApiTest, ErrorWithoutTypeHeaderUsesTheBodysTypeAndToleratesLargeXRayHeader) {
  RawHttpClient rt(port_);
  ASSERT_TRUE(next_with(rt, "r1"));
  const std::string cause = R"({"working_directory":"/var/task","exceptions":[{"message":")" +
                            std::string(1000, 'm') + R"("}],"paths":[]})";
  const std::string body = R"({"errorMessage":"division by zero","errorType":"ZeroDivisionError"})";
  auto r = rt.request("POST", std::string(kBase) + "/invocation/r1/error", body,
                      "Lambda-Runtime-Function-XRay-Error-Cause: " + cause + "\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  ASSERT_TRUE(rec_.wait_outcomes(1));
  EXPECT_EQ(rec_.outcomes[0].second.error_type, "ZeroDivisionError");
  EXPECT_EQ(nlohmann::json::parse(rec_.outcomes[0].second.body)["errorType"], "ZeroDivisionError");
}

TEST_F(RuntimeApiTest, ErrorBodyThatIsNotJsonIsWrapped) {
  RawHttpClient rt(port_);
  ASSERT_TRUE(next_with(rt, "r1"));
  auto r = rt.request("POST", std::string(kBase) + "/invocation/r1/error", "segfault in handler",
                      "Lambda-Runtime-Function-Error-Type: Runtime.ExitError\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  ASSERT_TRUE(rec_.wait_outcomes(1));
  const auto body = nlohmann::json::parse(rec_.outcomes[0].second.body);
  EXPECT_EQ(body["errorMessage"], "segfault in handler");
  EXPECT_EQ(body["errorType"], "Runtime.ExitError");
  EXPECT_EQ(rec_.outcomes[0].second.error_type, "Runtime.ExitError");
}

TEST(NormalizeErrorType, FollowsTheEmulatorsRule) {
  EXPECT_EQ(normalize_error_type("Runtime.ImportModuleError"), "Runtime.ImportModuleError");
  EXPECT_EQ(normalize_error_type("Function.MyError"), "Function.MyError");
  EXPECT_EQ(normalize_error_type("Function.my_error"), "Function.Unknown");
  EXPECT_EQ(normalize_error_type("Function."), "Function.Unknown");
  EXPECT_EQ(normalize_error_type("Runtime.bad"), "Runtime.Unknown");
  EXPECT_EQ(normalize_error_type("Unhandled"), "Runtime.Unknown");
  EXPECT_EQ(normalize_error_type(""), "Runtime.Unknown");
  EXPECT_EQ(normalize_error_type("Runtime.A"), "Runtime.Unknown");  // needs two letters
  EXPECT_EQ(normalize_error_type("Runtime.Ab"), "Runtime.Ab");
}

TEST_F(RuntimeApiTest, InitErrorIsAcceptedOnceDuringInitOnly) {
  RawHttpClient rt(port_);
  auto r = rt.request("POST", std::string(kBase) + "/init/error",
                      R"({"errorMessage":"no module","errorType":"Runtime.ImportModuleError"})",
                      "Lambda-Runtime-Function-Error-Type: Runtime.ImportModuleError\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  ASSERT_TRUE(rec_.wait([&] { return rec_.init_errors.size() == 1; }));
  EXPECT_EQ(rec_.init_errors[0].error_type, "Runtime.ImportModuleError");
  auto again = rt.request("POST", std::string(kBase) + "/init/error", "{}");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 403);
  auto next = rt.request("GET", std::string(kBase) + "/invocation/next");
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 403);
}

TEST_F(RuntimeApiTest, InitErrorAfterInitIsRefused) {
  RawHttpClient rt(port_);
  ASSERT_TRUE(next_with(rt, "r1"));
  auto r = rt.request("POST", std::string(kBase) + "/init/error", "{}");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(json_of(*r)["errorType"], "InvalidStateTransition");
}

TEST_F(RuntimeApiTest, OversizedResponseIs413AndCompletesTheInvocationAsTooLarge) {
  RawHttpClient rt(port_);
  ASSERT_TRUE(next_with(rt, "r1"));
  auto r = rt.request("POST", std::string(kBase) + "/invocation/r1/response",
                      std::string(7 * 1024 * 1024, 'z'));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(json_of(*r)["errorType"], "RequestEntityTooLarge");
  EXPECT_EQ(json_of(*r)["errorMessage"], "Exceeded maximum allowed payload size (6291556 bytes).");
  ASSERT_TRUE(rec_.wait_outcomes(1));
  EXPECT_EQ(rec_.outcomes[0].first, "r1");
  EXPECT_EQ(rec_.outcomes[0].second.kind, Kind::ResponseTooLarge);
  EXPECT_EQ(rec_.outcomes[0].second.error_type, "Function.ResponseSizeTooLarge");
  // The invocation is over: a retry is a state error, and the runtime can poll again.
  RawHttpClient rt2(port_);
  auto retry = rt2.request("POST", std::string(kBase) + "/invocation/r1/response", "small");
  ASSERT_TRUE(retry);
  EXPECT_EQ(retry->status, 403);
  auto next = next_with(rt2, "r2");
  ASSERT_TRUE(next);
  EXPECT_EQ(next->header("Lambda-Runtime-Aws-Request-Id"), "r2");
}

TEST_F(RuntimeApiTest, ResponseAtExactlyTheLimitIsAccepted) {
  RawHttpClient rt(port_);
  ASSERT_TRUE(next_with(rt, "r1"));
  auto r = rt.request("POST", std::string(kBase) + "/invocation/r1/response",
                      std::string(RuntimeApiEndpoint::kMaxPayload, 'z'));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  ASSERT_TRUE(rec_.wait_outcomes(1));
  EXPECT_EQ(rec_.outcomes[0].second.body.size(), RuntimeApiEndpoint::kMaxPayload);
}

TEST_F(RuntimeApiTest, CurlPostsA2MBResponseWithExpectContinue) {
  RawHttpClient rt(port_);
  ASSERT_TRUE(next_with(rt, "big"));
  const std::string file = ::testing::TempDir() + "/runtime_api_2mb.json";
  const std::string payload = "\"" + std::string(2 * 1024 * 1024, 'p') + "\"";
  std::ofstream(file) << payload;
  // curl sends Expect: 100-continue on its own for bodies over 1 MiB.
  const std::string cmd =
      "curl -sS -o /dev/null -w '%{http_code} %{time_total}' "
      "--expect100-timeout 10 -H 'Content-Type: application/json' "
      "--data-binary @" +
      file + " http://127.0.0.1:" + std::to_string(port_) + kBase + "/invocation/big/response";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char out[128] = {};
  const size_t n = std::fread(out, 1, sizeof out - 1, p);
  ::pclose(p);
  int code = 0;
  double seconds = 0;
  ASSERT_EQ(std::sscanf(std::string(out, n).c_str(), "%d %lf", &code, &seconds), 2) << out;
  EXPECT_EQ(code, 202);
  EXPECT_LT(seconds, 5.0);
  ASSERT_TRUE(rec_.wait_outcomes(1));
  EXPECT_EQ(rec_.outcomes[0].second.body, payload);
  EXPECT_EQ(rec_.outcomes[0].second.content_type, "application/json");
}

// A caller's end of a streamed response: what the endpoint passed on, in order.
struct SinkRecorder : ResponseStreamSink {
  std::mutex mu;
  std::condition_variable cv;
  std::string content_type;
  int begins = 0;
  std::string received;
  void begin(const std::string& type, const std::string&) override {
    std::lock_guard lock(mu);
    content_type = type;
    ++begins;
    cv.notify_all();
  }
  void write(std::string piece) override {
    std::lock_guard lock(mu);
    received += piece;
    cv.notify_all();
  }
  size_t backlog() const override { return 0; }
  void when_below(size_t, std::function<void()> resume) override { resume(); }
  bool wait_for(const std::string& text) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return received == text; });
  }
};

constexpr const char* kStreamHead =
    "Lambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\n"
    "Content-Type: text/plain\r\n";

std::string stream_post(const std::string& id) {
  return "POST " + std::string(kBase) + "/invocation/" + id + "/response HTTP/1.1\r\nHost: x\r\n" +
         kStreamHead + "\r\n";
}

TEST_F(RuntimeApiTest, AStreamedResponseReachesTheCallersSinkPieceByPieceBeforeItEnds) {
  auto sink = std::make_shared<SinkRecorder>();
  RawHttpClient rt(port_);
  ASSERT_TRUE(next_streaming(rt, "s1", sink));
  ASSERT_TRUE(rt.send_all(stream_post("s1") + "6\r\nfirst \r\n"));
  // The first piece is passed on while the runtime has not finished its body.
  ASSERT_TRUE(sink->wait_for("first ")) << sink->received;
  EXPECT_EQ(sink->begins, 1);
  EXPECT_EQ(sink->content_type, "text/plain");
  EXPECT_TRUE(rec_.outcomes.empty());
  EXPECT_FALSE(rt.readable_within(100)) << "answered before the stream ended";
  ASSERT_TRUE(rt.send_all("6\r\nsecond\r\n0\r\n\r\n"));
  auto r = rt.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  EXPECT_TRUE(sink->wait_for("first second"));
  ASSERT_TRUE(rec_.wait_outcomes(1));
  EXPECT_EQ(rec_.outcomes[0].second.kind, Kind::Response);
  EXPECT_EQ(rec_.outcomes[0].second.body, "") << "a streamed body is not kept twice";
  // The same keep-alive connection goes on to the next invocation.
  auto next = next_with(rt, "s2");
  ASSERT_TRUE(next);
  EXPECT_EQ(next->header("Lambda-Runtime-Aws-Request-Id"), "s2");
}

TEST_F(RuntimeApiTest, ErrorTrailersEndAStreamedResponseInAFunctionError) {
  auto sink = std::make_shared<SinkRecorder>();
  RawHttpClient rt(port_);
  ASSERT_TRUE(next_streaming(rt, "s1", sink));
  // {"errorMessage":"stream broke","errorType":"StreamError"}
  ASSERT_TRUE(rt.send_all(
      stream_post("s1") +
      "4\r\npart\r\n0\r\nLambda-Runtime-Function-Error-Type: StreamError\r\n"
      "Lambda-Runtime-Function-Error-Body: "
      "eyJlcnJvck1lc3NhZ2UiOiJzdHJlYW0gYnJva2UiLCJlcnJvclR5cGUiOiJTdHJlYW1FcnJvciJ9\r\n\r\n"));
  auto r = rt.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  ASSERT_TRUE(rec_.wait_outcomes(1));
  const InvocationOutcome& o = rec_.outcomes[0].second;
  EXPECT_EQ(o.kind, Kind::FunctionError);
  EXPECT_EQ(o.error_type, "Runtime.Unknown");  // the header's rule: "StreamError" is no Lambda type
  EXPECT_EQ(nlohmann::json::parse(o.body)["errorMessage"], "stream broke");
  EXPECT_EQ(nlohmann::json::parse(o.body)["errorType"], "StreamError");
  EXPECT_EQ(sink->received, "part");
}

TEST_F(RuntimeApiTest, AStreamedResponseIsGatheredForACallerWithoutASink) {
  RawHttpClient rt(port_);
  ASSERT_TRUE(next_with(rt, "s1"));
  auto r = rt.request("POST", std::string(kBase) + "/invocation/s1/response", "whole body",
                      "Lambda-Runtime-Function-Response-Mode: streaming\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  ASSERT_TRUE(rec_.wait_outcomes(1));
  EXPECT_EQ(rec_.outcomes[0].second.kind, Kind::Response);
  EXPECT_EQ(rec_.outcomes[0].second.body, "whole body");
  EXPECT_EQ(rec_.outcomes[0].second.content_type, "application/octet-stream");
}

TEST_F(RuntimeApiTest, AStreamedResponsePastTwentyMegabytesEndsTooLarge) {
  auto sink = std::make_shared<SinkRecorder>();
  RawHttpClient rt(port_);
  ASSERT_TRUE(next_streaming(rt, "s1", sink));
  ASSERT_TRUE(rt.send_all(stream_post("s1")));
  const std::string mb(1024 * 1024, 'x');
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", mb.size());
  for (int i = 0; i < 21; ++i) {
    if (!rt.send_all(size + mb + "\r\n")) break;  // the endpoint may close once past the limit
  }
  ASSERT_TRUE(rec_.wait_outcomes(1));
  EXPECT_EQ(rec_.outcomes[0].second.kind, Kind::ResponseTooLarge);
  EXPECT_EQ(rec_.outcomes[0].second.error_type, "Function.ResponseSizeTooLarge");
  EXPECT_NE(rec_.outcomes[0].second.body.find("20971520"), std::string::npos)
      << rec_.outcomes[0].second.body;
  EXPECT_LE(sink->received.size(), RuntimeApiEndpoint::kMaxStreamedPayload);
  EXPECT_GE(sink->received.size(), RuntimeApiEndpoint::kMaxStreamedPayload - mb.size());
}

// Found by tests/fuzz/fuzz_runtime_api.cpp: the answer quoting a request id or path that is not
// UTF-8 threw from nlohmann::json::dump; from the too-large answer that terminated the process.
TEST_F(RuntimeApiTest, RequestIdsAndPathsThatAreNotUtf8AreAnsweredNotThrown) {
  RawHttpClient rt(port_);
  ASSERT_TRUE(next_with(rt, "r1"));
  auto big = rt.request("POST", std::string(kBase) + "/invocation/r%F7x/response",
                        std::string(7 * 1024 * 1024, 'z'));
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 400);
  EXPECT_EQ(json_of(*big)["errorType"], "InvalidRequestID");
  RawHttpClient other(port_);
  auto unknown = other.request("GET", std::string(kBase) + "/%F7%FF");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_EQ(json_of(*unknown)["errorType"], "NotFound");
  // The invocation is still the runtime's to answer.
  RawHttpClient rt2(port_);
  auto ok = rt2.request("POST", std::string(kBase) + "/invocation/r1/response", "{}");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 202);
  ASSERT_TRUE(rec_.wait_outcomes(1));
  EXPECT_EQ(rec_.outcomes[0].first, "r1");
}

TEST_F(RuntimeApiTest, UnknownPathsAre404AndWrongMethods405) {
  RawHttpClient rt(port_);
  auto r = rt.request("GET", "/2018-06-01/runtime/invocation/r1/nothing");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(json_of(*r)["errorType"], "NotFound");
  auto m = rt.request("POST", std::string(kBase) + "/invocation/next", "");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 405);
  EXPECT_EQ(rec_.first_next, 0);
}

TEST_F(RuntimeApiTest, CloseDropsTheParkedNextAndRefusesNewConnections) {
  RawHttpClient rt(port_);
  ASSERT_TRUE(rt.send_request("GET", std::string(kBase) + "/invocation/next"));
  ASSERT_TRUE(rec_.wait([&] { return rec_.first_next == 1; }));
  endpoint_->close();
  endpoint_->close();  // idempotent
  EXPECT_TRUE(rt.closed_within(2000));
  endpoint_->deliver(event("after-close"));
  RawHttpClient late(port_);
  EXPECT_FALSE(late.connected() && late.request("GET", std::string(kBase) + "/invocation/next"));
}

TEST_F(RuntimeApiTest, CallbacksRunOnTheEndpointsIoThread) {
  std::promise<std::thread::id> io;
  server_.post(endpoint_->thread_index(), [&] { io.set_value(std::this_thread::get_id()); });
  const auto io_thread = io.get_future().get();
  std::thread::id seen;
  uint16_t port = 0;
  const int fd = testutil::make_listening_socket(&port);
  std::promise<void> done;
  RuntimeApiCallbacks cb;
  cb.on_first_next = [&] {
    seen = std::this_thread::get_id();
    done.set_value();
  };
  RuntimeApiEndpoint ep(server_, fd, endpoint_->thread_index(), cb);
  RawHttpClient rt(port);
  ASSERT_TRUE(rt.send_request("GET", std::string(kBase) + "/invocation/next"));
  ASSERT_EQ(done.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(seen, io_thread);
}

}  // namespace
}  // namespace api
