// runtimes/cpp/lambda_runtime.hpp in real environments, through build/bin/example-cpp-hello
// zipped as `bootstrap`: echo with the invocation's identity, errors, remaining time, warm reuse.
#include <gtest/gtest.h>

#include "tests/integration/daemon_test.hpp"

namespace {

using nlohmann::json;
using testsupport::body_json;
using testsupport::DaemonProcess;
using testsupport::header;

class DaemonRuntimeCppTest : public testsupport::DaemonTest {
 protected:
  void SetUp() override {
    start();
    ASSERT_EQ(daemon_->create_function(
                  "cpp", {{"Timeout", 5}},
                  testsupport::function_zip(testsupport::bin_path("example-cpp-hello"))),
              201);
  }
};

TEST_F(DaemonRuntimeCppTest, EchoesTheEventWithItsIdentityAndReusesTheWarmEnvironment) {
  auto first = daemon_->invoke("cpp", R"({"x":[1,2],"s":"héllo ✓"})");
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200) << first->body << daemon_->function_log("cpp");
  EXPECT_EQ(header(first, "X-Amz-Function-Error"), "");
  const auto a = json::parse(first->body);
  EXPECT_EQ(a["event"], json::parse(R"({"x":[1,2],"s":"héllo ✓"})"));
  EXPECT_EQ(a["request_id"], header(first, "x-amzn-RequestId"));
  EXPECT_EQ(a["function_arn"], "arn:aws:lambda:us-east-1:000000000000:function:cpp");
  EXPECT_EQ(a["invocations"], 1);
  auto second = daemon_->invoke("cpp", "{}");
  ASSERT_EQ(second->status, 200) << second->body;
  EXPECT_EQ(json::parse(second->body)["invocations"], 2);
  EXPECT_NE(daemon_->function_log("cpp").find("cpp-hello: invocation 2, request " +
                                              header(second, "x-amzn-RequestId")),
            std::string::npos);
}

TEST_F(DaemonRuntimeCppTest, RemainingTimeCountsDownFromTheTimeout) {
  auto r = daemon_->invoke("cpp", "{}");
  ASSERT_EQ(r->status, 200) << r->body;
  const auto e = json::parse(r->body);
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  EXPECT_GT(e["remaining_ms"].get<int64_t>(), 3000);
  EXPECT_LE(e["remaining_ms"].get<int64_t>(), 5000);
  EXPECT_GT(e["deadline_ms"].get<int64_t>(), now_ms);
  EXPECT_LE(e["deadline_ms"].get<int64_t>(), now_ms + 5000);
}

TEST_F(DaemonRuntimeCppTest, FailureAndExceptionsAreFunctionErrorsAndTheEnvironmentSurvives) {
  auto failed = daemon_->invoke("cpp", R"({"action":"error"})");
  ASSERT_EQ(failed->status, 200);
  EXPECT_EQ(header(failed, "X-Amz-Function-Error"), "Unhandled");
  const auto e = json::parse(failed->body);
  EXPECT_EQ(e["errorType"], "HelloError");
  EXPECT_EQ(e["errorMessage"], "asked to fail");
  auto thrown = daemon_->invoke("cpp", R"({"action":"throw"})");
  ASSERT_EQ(thrown->status, 200);
  EXPECT_EQ(header(thrown, "X-Amz-Function-Error"), "Unhandled");
  const auto t = json::parse(thrown->body);
  EXPECT_EQ(t["errorType"], "std::exception");
  EXPECT_EQ(t["errorMessage"], "thrown from the handler");
  auto next = daemon_->invoke("cpp", "{}");
  ASSERT_EQ(next->status, 200);
  EXPECT_EQ(json::parse(next->body)["invocations"], 3) << "same process after both errors";
}

TEST_F(DaemonRuntimeCppTest, ALargeResponseCrossesTheKeepAliveConnection) {
  // ~5 MB event echoed back: the payload and the response both travel the one connection.
  const std::string big = "\"" + std::string(5 * 1024 * 1024, 'b') + "\"";
  auto r = daemon_->invoke("cpp", R"({"big":)" + big + "}");
  ASSERT_EQ(r->status, 200) << r->body.substr(0, 200);
  EXPECT_EQ(json::parse(r->body)["event"]["big"].get<std::string>().size(), 5u * 1024 * 1024);
}

}  // namespace
