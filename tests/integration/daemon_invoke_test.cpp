// The real daemon with real environments running the static C test runtime: Lambda's invoke
// semantics, error shapes, warm reuse, failures each followed by a working invocation, limits.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "tests/integration/daemon_test.hpp"

namespace {

using nlohmann::json;
using testsupport::body_json;
using testsupport::DaemonProcess;
using testsupport::header;

class DaemonInvokeTest : public testsupport::DaemonTest {
 protected:
  void SetUp() override { start(); }
};

TEST_F(DaemonInvokeTest, EchoesTheEventAndReusesTheWarmEnvironment) {
  ASSERT_EQ(daemon_->create_function("echo"), 201);
  auto first = daemon_->invoke("echo", R"({"action":"env"})");
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200) << first->body;
  EXPECT_EQ(header(first, "X-Amz-Executed-Version"), "$LATEST");
  const auto a = body_json(first);
  EXPECT_EQ(a["invocations"], 1);
  EXPECT_EQ(a["request_id"], header(first, "x-amzn-RequestId"));
  auto second = daemon_->invoke("echo", R"({"action":"env"})");
  ASSERT_EQ(second->status, 200);
  const auto b = body_json(second);
  EXPECT_EQ(b["invocations"], 2);
  EXPECT_EQ(b["pid"], a["pid"]);
  auto echo = daemon_->invoke("echo", R"({"x":[1,2,3],"s":"héllo ✓"})");
  EXPECT_EQ(echo->body, R"({"x":[1,2,3],"s":"héllo ✓"})");
  // Init Duration is reported for the cold start only.
  const std::string log = daemon_->function_log("echo");
  size_t reports = 0, inits = 0;
  for (size_t p = log.find("REPORT RequestId: "); p != std::string::npos;
       p = log.find("REPORT RequestId: ", p + 1)) {
    ++reports;
    const auto eol = log.find('\n', p);
    if (log.substr(p, eol - p).find("Init Duration: ") != std::string::npos) ++inits;
  }
  EXPECT_EQ(reports, 3u);
  EXPECT_EQ(inits, 1u);
  EXPECT_NE(log.find("START RequestId: " + header(first, "x-amzn-RequestId") + " Version: $LATEST"),
            std::string::npos);
  EXPECT_NE(log.find("END RequestId: " + header(first, "x-amzn-RequestId")), std::string::npos);
}

TEST_F(DaemonInvokeTest, RuntimeSeesLambdaEnvironmentAndContext) {
  ASSERT_EQ(daemon_->create_function(
                "ctx", {{"MemorySize", 256}, {"Environment", {{"Variables", {{"USER_X", "y"}}}}}}),
            201);
  const std::string context = R"({"custom":{"k":"v"}})";
  auto r =
      daemon_->invoke("ctx", R"({"action":"env"})",
                      {{"X-Amz-Client-Context", common::base64_encode(context)},
                       {"X-Amzn-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"}});
  ASSERT_EQ(r->status, 200) << r->body;
  const auto env = body_json(r);
  EXPECT_EQ(env["AWS_LAMBDA_FUNCTION_NAME"], "ctx");
  EXPECT_EQ(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256");
  EXPECT_EQ(env["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
  EXPECT_EQ(env["AWS_LAMBDA_LOG_GROUP_NAME"], "/aws/lambda/ctx");
  EXPECT_TRUE(env["AWS_LAMBDA_LOG_STREAM_NAME"].get<std::string>().find("[$LATEST]") !=
              std::string::npos);
  EXPECT_EQ(env["AWS_LAMBDA_RUNTIME_API"], "127.0.0.1:9001");
  EXPECT_EQ(env["AWS_REGION"], "us-east-1");
  EXPECT_EQ(env["LAMBDA_TASK_ROOT"], "/var/task");
  EXPECT_EQ(env["TZ"], ":UTC");
  EXPECT_EQ(env["USER_X"], "y");
  EXPECT_EQ(env["function_arn"], "arn:aws:lambda:us-east-1:000000000000:function:ctx");
  EXPECT_EQ(env["client_context"], context);
  EXPECT_EQ(env["trace_id"], "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1");
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  EXPECT_GT(env["deadline_ms"].get<int64_t>(), now_ms);
  EXPECT_LT(env["deadline_ms"].get<int64_t>(), now_ms + 3100);
}

TEST_F(DaemonInvokeTest, ApiErrorsHaveLambdasShape) {
  auto missing = daemon_->invoke("nosuch", "{}");
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(header(missing, "x-amzn-ErrorType"), "ResourceNotFoundException");
  EXPECT_EQ(body_json(missing)["message"],
            "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nosuch");
  EXPECT_FALSE(header(missing, "x-amzn-RequestId").empty());
  ASSERT_EQ(daemon_->create_function("f"), 201);
  auto bad = daemon_->invoke("f", "{not json");
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(header(bad, "x-amzn-ErrorType"), "InvalidRequestContentException");
  EXPECT_EQ(body_json(bad)["Type"], "User");
  auto big = daemon_->invoke("f", "\"" + std::string(6 * 1024 * 1024, 'a') + "\"");
  EXPECT_EQ(big->status, 413);
  // Refused from Content-Length before the body is read, as Lambda's front end does.
  EXPECT_EQ(header(big, "x-amzn-ErrorType"), "RequestEntityTooLargeException");
  auto qualified = daemon_->invoke("f:prod", "{}");
  EXPECT_EQ(qualified->status, 404);
  auto dry =
      daemon_->client().Post("/2015-03-31/functions/f/invocations",
                             {{"X-Amz-Invocation-Type", "DryRun"}}, "{}", "application/json");
  EXPECT_EQ(dry->status, 204);
}

TEST_F(DaemonInvokeTest, FunctionErrorIsA200WithTheErrorObject) {
  ASSERT_EQ(daemon_->create_function("err"), 201);
  auto r = daemon_->invoke("err", R"({"action":"error"})");
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(header(r, "X-Amz-Function-Error"), "Unhandled");
  const auto e = body_json(r);
  EXPECT_EQ(e["errorType"], "TestError");
  EXPECT_EQ(e["errorMessage"], "boom");
  // The environment survives a handled error.
  auto next = daemon_->invoke("err", R"({"action":"env"})");
  EXPECT_EQ(body_json(next)["invocations"], 2);
}

TEST_F(DaemonInvokeTest, CrashIsRuntimeExitErrorAndTheNextInvocationStartsCold) {
  ASSERT_EQ(daemon_->create_function("crash"), 201);
  auto r = daemon_->invoke("crash", R"({"action":"crash"})");
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(header(r, "X-Amz-Function-Error"), "Unhandled");
  const auto e = body_json(r);
  EXPECT_EQ(e["errorType"], "Runtime.ExitError");
  EXPECT_EQ(e["errorMessage"], "RequestId: " + header(r, "x-amzn-RequestId") +
                                   " Error: Runtime exited with error: exit status 3");
  auto next = daemon_->invoke("crash", R"({"action":"env"})");
  ASSERT_EQ(next->status, 200);
  EXPECT_EQ(body_json(next)["invocations"], 1);
  auto killed = daemon_->invoke("crash", R"({"action":"abort"})");
  EXPECT_EQ(body_json(killed)["errorMessage"],
            "RequestId: " + header(killed, "x-amzn-RequestId") +
                " Error: Runtime exited with error: signal: aborted");
}

TEST_F(DaemonInvokeTest, TimeoutKillsTheEnvironmentAndTheNextInvocationWorks) {
  ASSERT_EQ(daemon_->create_function("slow", {{"Timeout", 1}}), 201);
  const auto start = std::chrono::steady_clock::now();
  auto r = daemon_->invoke("slow", R"({"action":"sleep","ms":5000})");
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(header(r, "X-Amz-Function-Error"), "Unhandled");
  const auto e = body_json(r);
  EXPECT_EQ(e["errorType"], "Sandbox.Timedout");
  EXPECT_EQ(e["errorMessage"], "RequestId: " + header(r, "x-amzn-RequestId") +
                                   " Error: Task timed out after 1.00 seconds");
  EXPECT_LT(took, std::chrono::milliseconds(2500));
  auto next = daemon_->invoke("slow", R"({"action":"sleep","ms":10})");
  ASSERT_EQ(next->status, 200);
  EXPECT_EQ(next->body, R"({"slept":10})");
}

TEST_F(DaemonInvokeTest, OutOfMemoryIsReportedAndTheNextInvocationWorks) {
  ASSERT_EQ(daemon_->create_function("hog", {{"MemorySize", 128}}), 201);
  auto r = daemon_->invoke("hog", R"({"action":"oom"})");
  ASSERT_EQ(r->status, 200);
  const auto e = body_json(r);
  EXPECT_EQ(e["errorType"], "Runtime.OutOfMemory");
  EXPECT_EQ(e["errorMessage"], "RequestId: " + header(r, "x-amzn-RequestId") +
                                   " Error: Runtime exited with error: signal: killed");
  auto next = daemon_->invoke("hog", R"({"a":1})");
  EXPECT_EQ(next->body, R"({"a":1})");
}

TEST_F(DaemonInvokeTest, InitErrorsReachTheInvocationThatCausedTheInit) {
  ASSERT_EQ(daemon_->create_function("initerr",
                                     {{"Environment", {{"Variables", {{"INIT_ERROR", "1"}}}}}}),
            201);
  auto r = daemon_->invoke("initerr", "{}");
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(header(r, "X-Amz-Function-Error"), "Unhandled");
  EXPECT_EQ(body_json(r)["errorType"], "InitError");
  ASSERT_EQ(daemon_->create_function("initcrash",
                                     {{"Environment", {{"Variables", {{"INIT_CRASH", "1"}}}}}}),
            201);
  auto c = daemon_->invoke("initcrash", "{}");
  EXPECT_EQ(body_json(c)["errorType"], "Runtime.ExitError");
}

TEST_F(DaemonInvokeTest, MissingBootstrapIsRuntimeInvalidEntrypoint) {
  testsupport::TempDir dir("rt-nobootstrap");
  std::ofstream(dir.path() / "handler.txt") << "no bootstrap here";
  auto zip = runtimed::zip_directory(dir.path());
  ASSERT_TRUE(zip.has_value());
  ASSERT_EQ(daemon_->create_function("noboot", json::object(), *zip), 201);
  auto r = daemon_->invoke("noboot", "{}");
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(header(r, "X-Amz-Function-Error"), "Unhandled");
  EXPECT_EQ(body_json(r)["errorType"], "Runtime.InvalidEntrypoint");
}

TEST_F(DaemonInvokeTest, OversizedResponseIsFunctionResponseSizeTooLarge) {
  ASSERT_EQ(daemon_->create_function("big"), 201);
  auto near = daemon_->invoke("big", R"({"action":"big","bytes":6000000})");
  ASSERT_EQ(near->status, 200);
  EXPECT_EQ(near->body.size(), 6000000u);
  auto over = daemon_->invoke("big", R"({"action":"big","bytes":7000000})");
  ASSERT_EQ(over->status, 200);
  EXPECT_EQ(body_json(over)["errorType"], "Function.ResponseSizeTooLarge");
}

TEST_F(DaemonInvokeTest, LogTailCarriesThisInvocationsLines) {
  ASSERT_EQ(daemon_->create_function("logs"), 201);
  auto r = daemon_->invoke("logs", R"({"action":"print","text":"hello from the function"})",
                           {{"X-Amz-Log-Type", "Tail"}});
  ASSERT_EQ(r->status, 200);
  const std::string tail = common::base64_decode(header(r, "X-Amz-Log-Result")).value_or("");
  const std::string rid = header(r, "x-amzn-RequestId");
  EXPECT_NE(tail.find("START RequestId: " + rid), std::string::npos) << tail;
  // Exactly one START, even when the runtime polls before the daemon hands over the event.
  EXPECT_EQ(tail.find("START RequestId: ", tail.find("START RequestId: ") + 1), std::string::npos)
      << tail;
  const auto init = tail.find("Init Duration: ");
  ASSERT_NE(init, std::string::npos) << tail;
  const double init_ms = std::stod(tail.substr(init + 15));
  EXPECT_GT(init_ms, 0.0);
  EXPECT_LT(init_ms, 5000.0) << tail;
  EXPECT_NE(tail.find("hello from the function"), std::string::npos) << tail;
  EXPECT_NE(tail.find("END RequestId: " + rid), std::string::npos) << tail;
  EXPECT_NE(tail.find("REPORT RequestId: " + rid + "\tDuration: "), std::string::npos) << tail;
  EXPECT_NE(tail.find("\tMemory Size: 128 MB\tMax Memory Used: "), std::string::npos) << tail;
}

TEST_F(DaemonInvokeTest, ConcurrentInvocationsRunOnSeparateEnvironments) {
  ASSERT_EQ(daemon_->create_function("par"), 201);
  std::vector<std::thread> threads;
  std::mutex mu;
  std::set<int> pids;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      auto r = daemon_->invoke("par", R"({"action":"sleep","ms":700})");
      ASSERT_TRUE(r);
      ASSERT_EQ(r->status, 200);
      auto env = daemon_->invoke("par", R"({"action":"env"})");
      std::lock_guard lock(mu);
      pids.insert(body_json(env)["pid"].get<int>());
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(2700));
  auto health = json::parse(daemon_->client().Get("/runtimed/v1/health")->body);
  EXPECT_GE(health["coldStarts"].get<int>(), 4);
}

TEST_F(DaemonInvokeTest, UpdatingCodeRetiresWarmEnvironments) {
  ASSERT_EQ(daemon_->create_function("upd"), 201);
  auto before = daemon_->invoke("upd", R"({"action":"env"})");
  ASSERT_EQ(before->status, 200);
  auto put = daemon_->client().Put("/2015-03-31/functions/upd/configuration",
                                   json{{"Environment", {{"Variables", {{"USER_V", "2"}}}}}}.dump(),
                                   "application/json");
  ASSERT_EQ(put->status, 200) << put->body;
  auto after = daemon_->invoke("upd", R"({"action":"env"})");
  EXPECT_EQ(body_json(after)["USER_V"], "2");
  EXPECT_EQ(body_json(after)["invocations"], 1);
}

TEST_F(DaemonInvokeTest, DeletedFunctionIsNotFound) {
  ASSERT_EQ(daemon_->create_function("gone"), 201);
  ASSERT_EQ(daemon_->invoke("gone", "{}")->status, 200);
  ASSERT_EQ(daemon_->client().Delete("/2015-03-31/functions/gone")->status, 204);
  EXPECT_EQ(daemon_->invoke("gone", "{}")->status, 404);
}

TEST(DaemonLimitsTest, MemoryBudgetFullAnswers429AtOnce) {
  DaemonProcess daemon({"--memory-budget-mb", "256"});
  ASSERT_EQ(daemon.create_function("b", {{"MemorySize", 128}}), 201);
  std::vector<std::thread> sleepers;
  for (int i = 0; i < 2; ++i) {
    sleepers.emplace_back([&] {
      auto r = daemon.invoke("b", R"({"action":"sleep","ms":1500})");
      EXPECT_EQ(r->status, 200);
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  const auto start = std::chrono::steady_clock::now();
  auto third = daemon.invoke("b", "{}");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(300));
  EXPECT_EQ(third->status, 429);
  EXPECT_EQ(header(third, "x-amzn-ErrorType"), "TooManyRequestsException");
  EXPECT_EQ(body_json(third)["Reason"], "ConcurrentInvocationLimitExceeded");
  EXPECT_FALSE(header(third, "Retry-After").empty());
  for (auto& t : sleepers) t.join();
  // Idle environments are evicted for a function that needs the room.
  ASSERT_EQ(daemon.create_function("c", {{"MemorySize", 256}}), 201);
  EXPECT_EQ(daemon.invoke("c", "{}")->status, 200);
}

TEST(DaemonLimitsTest, ConcurrencyLimitAnswers429) {
  DaemonProcess daemon({"--concurrency-limit", "1"});
  ASSERT_EQ(daemon.create_function("one"), 201);
  std::thread sleeper(
      [&] { EXPECT_EQ(daemon.invoke("one", R"({"action":"sleep","ms":1200})")->status, 200); });
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  auto second = daemon.invoke("one", "{}");
  EXPECT_EQ(second->status, 429);
  sleeper.join();
}

TEST(DaemonLifecycleTest, SigtermDrainsInFlightInvocationsAndLeavesNothing) {
  auto daemon = std::make_unique<DaemonProcess>();
  ASSERT_EQ(daemon->create_function("drain"), 201);
  std::atomic<int> status{0};
  std::thread caller([&] {
    auto r = daemon->invoke("drain", R"({"action":"sleep","ms":1500})");
    status = r ? r->status : -1;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto parent = daemon->cgroup_parent();
  const auto state = daemon->state_dir();
  const int exit = daemon->stop(SIGTERM);
  caller.join();
  EXPECT_EQ(status, 200);
  EXPECT_TRUE(WIFEXITED(exit) && WEXITSTATUS(exit) == 0);
  EXPECT_EQ(testsupport::leftovers(parent, state), std::vector<std::string>{});
}

TEST(DaemonLifecycleTest, TwoDaemonsRunSideBySide) {
  DaemonProcess a, b;
  ASSERT_EQ(a.create_function("same"), 201);
  ASSERT_EQ(b.create_function("same"), 201);
  EXPECT_EQ(a.invoke("same", R"({"who":"a"})")->body, R"({"who":"a"})");
  EXPECT_EQ(b.invoke("same", R"({"who":"b"})")->body, R"({"who":"b"})");
}

TEST(DaemonLifecycleTest, RestartAfterSigkillCleansLeftoversAndKeepsFunctions) {
  testsupport::TempDir state("rt-restart");
  std::string parent;
  {
    DaemonProcess first({}, state.path(), "rt-restart-" + common::random_hex(6));
    parent = first.cgroup_parent();
    ASSERT_EQ(first.create_function("keep"), 201);
    ASSERT_EQ(first.invoke("keep", "{}")->status, 200);
    first.stop(SIGKILL);
  }
  {
    DaemonProcess second({}, state.path(), parent);
    EXPECT_EQ(second.invoke("keep", R"({"again":true})")->body, R"({"again":true})");
  }
  EXPECT_EQ(testsupport::leftovers(parent, state.path()), std::vector<std::string>{});
}

}  // namespace
