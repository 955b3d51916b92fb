// runtimes/shell/bootstrap in real environments: a shell function per event, init once, warm
// reuse, a failing function as ShellError, and init errors for a missing script or function.
#include <gtest/gtest.h>

#include <future>

#include "tests/integration/daemon_test.hpp"

namespace {

using nlohmann::json;
using testsupport::body_json;
using testsupport::DaemonProcess;
using testsupport::header;

// A function zip: the shell bootstrap plus `files` (name → content).
std::string shell_zip(const std::map<std::string, std::string>& files) {
  return testsupport::zip_of(files, testsupport::source_path("runtimes/shell/bootstrap"));
}

// Counts its inits in /tmp (sourced once per environment) and its invocations in a variable that
// a subshell per invocation cannot keep, so /tmp carries that count too.
const char* kScript = R"SH(
echo x >>/tmp/inits
handler() {
  case $1 in
    *'"fail"'*) echo "first line" >&2; echo "it went \"wrong\"" >&2; exit 7 ;;
  esac
  echo y >>/tmp/calls
  printf '{"event":%s,"request_id":"%s","deadline_ms":%s,"arn":"%s","inits":%s,"calls":%s}' \
    "$1" "$LAMBDA_REQUEST_ID" "$LAMBDA_DEADLINE_MS" "$LAMBDA_FUNCTION_ARN" \
    "$(wc -l </tmp/inits)" "$(wc -l </tmp/calls)"
}
)SH";

class DaemonRuntimeShellTest : public testsupport::DaemonTest {
 protected:
  void SetUp() override { start(); }
  int create(const std::string& name, const std::string& handler, const std::string& zip) {
    return daemon_->create_function(name, {{"Handler", handler}}, zip);
  }
};

TEST_F(DaemonRuntimeShellTest, CallsTheShellFunctionWithTheEventAndReusesTheWarmEnvironment) {
  ASSERT_EQ(create("sh-echo", "script.handler", shell_zip({{"script.sh", kScript}})), 201);
  auto first = daemon_->invoke("sh-echo", R"({"x":[1,2],"s":"héllo ✓"})");
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200) << first->body << daemon_->function_log("sh-echo");
  EXPECT_EQ(header(first, "X-Amz-Function-Error"), "");
  const auto a = json::parse(first->body);
  EXPECT_EQ(a["event"], json::parse(R"({"x":[1,2],"s":"héllo ✓"})"));
  EXPECT_EQ(a["request_id"], header(first, "x-amzn-RequestId"));
  EXPECT_EQ(a["arn"], "arn:aws:lambda:us-east-1:000000000000:function:sh-echo");
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  EXPECT_GT(a["deadline_ms"].get<int64_t>(), now_ms);
  EXPECT_EQ(a["inits"], 1);
  EXPECT_EQ(a["calls"], 1);
  auto second = daemon_->invoke("sh-echo", R"({"n":2})");
  ASSERT_EQ(second->status, 200) << second->body;
  const auto b = json::parse(second->body);
  EXPECT_EQ(b["calls"], 2);
  EXPECT_EQ(b["inits"], 1) << "the script is sourced once per environment";
  EXPECT_NE(b["request_id"], a["request_id"]);
}

TEST_F(DaemonRuntimeShellTest, AnInvocationRunningDuringACodeUpdateKeepsItsFiles) {
  // The handler reads its code's data file only after a pause, by which time the code was
  // replaced; as on Lambda, the running invocation finishes on the code it started with.
  const char* script = "handler() {\n  sleep 1\n  cat /var/task/data.json\n}\n";
  ASSERT_EQ(create("sh-upd", "script.handler",
                   shell_zip({{"script.sh", script}, {"data.json", R"("old code")"}})),
            201);
  auto running = std::async(std::launch::async, [&] { return daemon_->invoke("sh-upd", "{}"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const json update = {{"ZipFile", common::base64_encode(shell_zip(
                                       {{"script.sh", script}, {"data.json", R"("new code")"}}))}};
  auto updated =
      daemon_->client().Put("/2015-03-31/functions/sh-upd/code", update.dump(), "application/json");
  ASSERT_EQ(updated->status, 200) << updated->body;
  auto r = running.get();
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(header(r, "X-Amz-Function-Error"), "") << r->body;
  EXPECT_EQ(r->body, R"("old code")");
  auto next = daemon_->invoke("sh-upd", "{}");
  EXPECT_EQ(next->body, R"("new code")");
}

TEST_F(DaemonRuntimeShellTest, NonZeroExitIsShellErrorWithTheStatusAndStderrTail) {
  ASSERT_EQ(create("sh-fail", "script.handler", shell_zip({{"script.sh", kScript}})), 201);
  auto r = daemon_->invoke("sh-fail", R"({"action":"fail"})");
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(header(r, "X-Amz-Function-Error"), "Unhandled");
  const auto e = json::parse(r->body);
  EXPECT_EQ(e["errorType"], "ShellError");
  EXPECT_EQ(e["errorMessage"],
            "script.handler exited with status 7: first line\nit went \"wrong\"");
  EXPECT_NE(daemon_->function_log("sh-fail").find("it went \"wrong\""), std::string::npos)
      << "the handler's stderr reaches the function log";
  // The environment survives: the next invocation is served warm.
  auto next = daemon_->invoke("sh-fail", "{}");
  ASSERT_EQ(next->status, 200) << next->body;
  EXPECT_EQ(json::parse(next->body)["inits"], 1);
}

TEST_F(DaemonRuntimeShellTest, MissingScriptIsImportModuleError) {
  ASSERT_EQ(create("sh-noscript", "nosuch.handler", shell_zip({{"script.sh", kScript}})), 201);
  auto r = daemon_->invoke("sh-noscript", "{}");
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(header(r, "X-Amz-Function-Error"), "Unhandled");
  const auto e = json::parse(r->body);
  EXPECT_EQ(e["errorType"], "Runtime.ImportModuleError");
  EXPECT_EQ(e["errorMessage"], "Unable to import module 'nosuch': /var/task/nosuch.sh not found");
}

TEST_F(DaemonRuntimeShellTest, MissingFunctionIsHandlerNotFound) {
  ASSERT_EQ(create("sh-nofn", "script.nosuch", shell_zip({{"script.sh", kScript}})), 201);
  auto r = daemon_->invoke("sh-nofn", "{}");
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(header(r, "X-Amz-Function-Error"), "Unhandled");
  EXPECT_EQ(json::parse(r->body)["errorType"], "Runtime.HandlerNotFound");
}

TEST_F(DaemonRuntimeShellTest, SyntaxErrorIsUserCodeSyntaxError) {
  ASSERT_EQ(create("sh-syntax", "script.handler",
                   shell_zip({{"script.sh", "handler() { echo unterminated\n"}})),
            201);
  auto r = daemon_->invoke("sh-syntax", "{}");
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body)["errorType"], "Runtime.UserCodeSyntaxError");
}

TEST_F(DaemonRuntimeShellTest, TheExampleGreets) {
  std::ifstream in(testsupport::source_path("examples/shell-hello/script.sh"));
  const std::string script(std::istreambuf_iterator<char>(in), {});
  ASSERT_FALSE(script.empty());
  ASSERT_EQ(create("sh-hello", "script.handler", shell_zip({{"script.sh", script}})), 201);
  auto r = daemon_->invoke("sh-hello", R"({"name":"Ada"})");
  ASSERT_EQ(r->status, 200) << r->body;
  const auto hello = json::parse(r->body);
  EXPECT_EQ(hello["message"], "Hello, Ada!");
  EXPECT_EQ(hello["invocations"], 1);
  auto fail = daemon_->invoke("sh-hello", R"({"name":"fail"})");
  EXPECT_EQ(json::parse(fail->body)["errorMessage"],
            "script.handler exited with status 3: refusing to greet 'fail'");
  auto again = daemon_->invoke("sh-hello", R"({})");
  EXPECT_EQ(json::parse(again->body)["invocations"], 2);
}

}  // namespace
