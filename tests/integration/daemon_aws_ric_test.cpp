// AWS's own Node.js runtime interface client (npm aws-lambda-ric, built by
// scripts/build-aws-lambda-ric.sh) unchanged against the real daemon: echo, handler errors, init
// errors, timeouts, a large response, the context object, warm reuse, response streaming.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>

#include "tests/integration/daemon_test.hpp"

namespace {

using nlohmann::json;
using testsupport::header;

// The handler: the event's "action" picks what it does; module state shows warm reuse.
const char* kIndexJs = R"JS(
let invocations = 0;
// A slow init (module load), to tell init time from invocation time.
const initUntil = Date.now() + Number(process.env.INIT_BUSY_MS || 0);
while (Date.now() < initUntil) {}
class HandlerBoom extends Error {
  constructor(message) { super(message); this.name = "HandlerBoom"; }
}
exports.handler = async (event, context) => {
  invocations += 1;
  switch (event.action) {
    case "throw":
      throw new HandlerBoom("boom from the handler");
    case "sleep":
      await new Promise((resolve) => setTimeout(resolve, event.ms));
      return { slept: event.ms };
    case "big":
      return "b".repeat(event.bytes);
    case "context":
      return {
        awsRequestId: context.awsRequestId,
        functionName: context.functionName,
        functionVersion: context.functionVersion,
        memoryLimitInMB: context.memoryLimitInMB,
        invokedFunctionArn: context.invokedFunctionArn,
        logGroupName: context.logGroupName,
        remainingMs: context.getRemainingTimeInMillis(),
        pid: process.pid,
        invocations,
      };
    default:
      return event;
  }
};
)JS";

// A response-streaming handler (awslambda.streamifyResponse, which the RIC provides): `chunks`
// chunks `ms` apart, then a failure when `fail` is set. sdk_response_stream.cjs's "node" kind.
const char* kStreamJs = R"JS(
exports.handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  const chunks = Number(event.chunks ?? 3);
  for (let i = 0; i < chunks; i++) {
    if (i > 0 && event.ms) await new Promise((resolve) => setTimeout(resolve, event.ms));
    responseStream.write(`chunk ${i} of ${context.functionName}\n`);
  }
  if (event.fail) throw new Error('the stream broke');
  responseStream.end();
});
)JS";

// Starts the RIC the way AWS's base images do: from the task root, handler as the argument.
const char* kBootstrap =
    "#!/bin/sh\n"
    "cd \"$LAMBDA_TASK_ROOT\" || exit 1\n"
    "exec /usr/bin/node node_modules/aws-lambda-ric/bin/index.mjs \"$_HANDLER\"\n";

// What scripts/build-aws-lambda-ric.sh produced: the install dir, or why there is none.
struct RicInstall {
  std::string dir;
  int exit_status = -1;
};

const RicInstall& ric_install() {
  static const RicInstall install = [] {
    RicInstall r;
    const std::string command =
        testsupport::source_path("scripts/build-aws-lambda-ric.sh").string();
    FILE* p = ::popen(command.c_str(), "r");  // the script's stderr goes to the test's output
    if (p == nullptr) return r;
    char buf[4096];
    while (std::fgets(buf, sizeof buf, p) != nullptr) r.dir += buf;
    const int status = ::pclose(p);
    r.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    while (!r.dir.empty() && (r.dir.back() == '\n' || r.dir.back() == '\r')) r.dir.pop_back();
    return r;
  }();
  return install;
}

// index.js + bootstrap + the installed node_modules.
std::string ric_zip(const std::filesystem::path& install_dir) {
  testsupport::TempDir dir("rt-ric-fn");
  std::ofstream(dir.path() / "index.js") << kIndexJs;
  std::ofstream(dir.path() / "stream.js") << kStreamJs;
  std::ofstream(dir.path() / "bootstrap") << kBootstrap;
  std::filesystem::permissions(dir.path() / "bootstrap", std::filesystem::perms(0755));
  std::filesystem::copy(
      install_dir / "node_modules", dir.path() / "node_modules",
      std::filesystem::copy_options::recursive | std::filesystem::copy_options::copy_symlinks);
  auto zip = runtimed::zip_directory(dir.path());
  if (!zip) throw std::runtime_error("zip: " + zip.error());
  return *zip;
}

class DaemonAwsRicTest : public testsupport::DaemonTest {
 protected:
  void SetUp() override {
    const RicInstall& install = ric_install();
    if (install.exit_status == 75) {
      GTEST_SKIP() << "npm registry unreachable: scripts/build-aws-lambda-ric.sh could not fetch "
                      "aws-lambda-ric (see its message above)";
    }
    ASSERT_EQ(install.exit_status, 0) << "scripts/build-aws-lambda-ric.sh failed (see above)";
    ASSERT_TRUE(std::filesystem::exists(install.dir + "/node_modules/aws-lambda-ric/bin/index.mjs"))
        << install.dir;
    start();
  }
  void create(const std::string& name, json extra = json::object()) {
    static const std::string zip = ric_zip(ric_install().dir);
    json config = {{"Handler", "index.handler"}, {"MemorySize", 256}, {"Timeout", 10}};
    config.update(extra);
    ASSERT_EQ(daemon_->create_function(name, config, zip), 201);
  }
};

TEST_F(DaemonAwsRicTest, EchoesTheEventAndReusesTheWarmEnvironment) {
  create("ric-echo");
  auto echo = daemon_->invoke("ric-echo", R"({"x":[1,2,3],"s":"héllo ✓"})");
  ASSERT_TRUE(echo);
  ASSERT_EQ(echo->status, 200) << echo->body << daemon_->function_log("ric-echo");
  EXPECT_EQ(header(echo, "X-Amz-Function-Error"), "");
  EXPECT_EQ(json::parse(echo->body), json::parse(R"({"x":[1,2,3],"s":"héllo ✓"})"));
  auto first = daemon_->invoke("ric-echo", R"({"action":"context"})");
  auto second = daemon_->invoke("ric-echo", R"({"action":"context"})");
  ASSERT_EQ(first->status, 200) << first->body;
  ASSERT_EQ(second->status, 200) << second->body;
  const auto a = json::parse(first->body), b = json::parse(second->body);
  EXPECT_EQ(a["invocations"], 2);
  EXPECT_EQ(b["invocations"], 3);
  EXPECT_EQ(a["pid"], b["pid"]);
  const std::string log = daemon_->function_log("ric-echo");
  EXPECT_NE(log.find("Executing 'index.handler' in function directory '/var/task'"),
            std::string::npos)
      << log;
}

TEST_F(DaemonAwsRicTest, ContextCarriesTheInvocationsIdentity) {
  create("ric-ctx");
  auto r = daemon_->invoke("ric-ctx", R"({"action":"context"})");
  ASSERT_EQ(r->status, 200) << r->body << daemon_->function_log("ric-ctx");
  const auto c = json::parse(r->body);
  EXPECT_EQ(c["awsRequestId"], header(r, "x-amzn-RequestId"));
  EXPECT_EQ(c["functionName"], "ric-ctx");
  EXPECT_EQ(c["functionVersion"], "$LATEST");
  EXPECT_EQ(c["memoryLimitInMB"], "256");
  EXPECT_EQ(c["invokedFunctionArn"], "arn:aws:lambda:us-east-1:000000000000:function:ric-ctx");
  EXPECT_EQ(c["logGroupName"], "/aws/lambda/ric-ctx");
  EXPECT_GT(c["remainingMs"].get<int64_t>(), 0);
  EXPECT_LE(c["remainingMs"].get<int64_t>(), 10000);
}

TEST_F(DaemonAwsRicTest, InitTimeDoesNotShortenTheFirstInvocationsRemainingTime) {
  // Lambda starts the timeout when the invocation starts, after init (which has its own limit).
  create("ric-slowinit", {{"Environment", {{"Variables", {{"INIT_BUSY_MS", "1500"}}}}}});
  auto r = daemon_->invoke("ric-slowinit", R"({"action":"context"})");
  ASSERT_EQ(r->status, 200) << r->body << daemon_->function_log("ric-slowinit");
  EXPECT_GT(json::parse(r->body)["remainingMs"].get<int64_t>(), 9000)
      << "the runtime's deadline was fixed before its 1.5 s init";
}

TEST_F(DaemonAwsRicTest, AThrownErrorReachesTheCallerAsTheRicReportsIt) {
  create("ric-throw");
  auto r = daemon_->invoke("ric-throw", R"({"action":"throw"})");
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(header(r, "X-Amz-Function-Error"), "Unhandled");
  const auto e = json::parse(r->body);
  EXPECT_EQ(e["errorType"], "HandlerBoom");
  EXPECT_EQ(e["errorMessage"], "boom from the handler");
  ASSERT_TRUE(e["trace"].is_array()) << r->body;
  EXPECT_NE(e["trace"][0].get<std::string>().find("HandlerBoom: boom from the handler"),
            std::string::npos);
  // A handled error keeps the environment.
  auto next = daemon_->invoke("ric-throw", R"({"action":"context"})");
  EXPECT_EQ(json::parse(next->body)["invocations"], 2);
}

TEST_F(DaemonAwsRicTest, AMissingHandlerIsAnInitErrorWithTheRicsType) {
  create("ric-nohandler", {{"Handler", "index.nosuch"}});
  auto r = daemon_->invoke("ric-nohandler", "{}");
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(header(r, "X-Amz-Function-Error"), "Unhandled");
  const auto e = json::parse(r->body);
  EXPECT_EQ(e["errorType"], "Runtime.HandlerNotFound");
  EXPECT_EQ(e["errorMessage"], "index.nosuch is undefined or not exported");
}

TEST_F(DaemonAwsRicTest, TimeoutIsSandboxTimedoutAndTheNextInvocationWorks) {
  create("ric-slow", {{"Timeout", 1}});
  auto r = daemon_->invoke("ric-slow", R"({"action":"sleep","ms":5000})");
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(header(r, "X-Amz-Function-Error"), "Unhandled");
  const auto e = json::parse(r->body);
  EXPECT_EQ(e["errorType"], "Sandbox.Timedout");
  EXPECT_EQ(e["errorMessage"], "RequestId: " + header(r, "x-amzn-RequestId") +
                                   " Error: Task timed out after 1.00 seconds");
  auto next = daemon_->invoke("ric-slow", R"({"action":"sleep","ms":10})");
  ASSERT_EQ(next->status, 200) << next->body;
  EXPECT_EQ(json::parse(next->body), json::parse(R"({"slept":10})"));
}

TEST_F(DaemonAwsRicTest, AFiveMegabyteResponseArrivesWhole) {
  create("ric-big");
  const size_t bytes = 5 * 1024 * 1024;
  auto r = daemon_->invoke("ric-big", R"({"action":"big","bytes":)" + std::to_string(bytes) + "}");
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(header(r, "X-Amz-Function-Error"), "") << r->body.substr(0, 300);
  ASSERT_EQ(r->body.size(), bytes + 2);
  EXPECT_EQ(r->body, "\"" + std::string(bytes, 'b') + "\"");
  // Over 6 MB: the RIC's post gets 413 and the caller Function.ResponseSizeTooLarge.
  auto over = daemon_->invoke("ric-big", R"({"action":"big","bytes":7000000})");
  ASSERT_EQ(over->status, 200);
  EXPECT_EQ(header(over, "X-Amz-Function-Error"), "Unhandled");
  EXPECT_EQ(json::parse(over->body)["errorType"], "Function.ResponseSizeTooLarge");
}

TEST_F(DaemonAwsRicTest, AStreamifyResponseHandlerStreamsToTheJsSdkAsItWrites) {
  RT_REQUIRE_AWS_SDK_JS();
  create("ric-stream", {{"Handler", "stream.handler"}});
  testsupport::TempDir home("rt-ric-stream");
  const auto run = testsupport::run_sdk_script(
      "sdk_response_stream.cjs",
      {"http://127.0.0.1:" + std::to_string(daemon_->port()), "ric-stream", "node"}, home.path());
  EXPECT_EQ(run.status, 0) << run << daemon_->function_log("ric-stream");
  EXPECT_NE(run.out.find("ok\n"), std::string::npos) << run;
  std::cout << run.out;
}

}  // namespace
