// The managed python3.12 runtime in a real daemon and real sandboxes: handler resolution, init and
// handler errors in AWS's shapes, the context object, warm state, large and unicode payloads,
// cold starts from a stem.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <thread>

#include "tests/integration/daemon_test.hpp"

namespace {

using nlohmann::json;
using testsupport::body_json;
using testsupport::DaemonProcess;
using testsupport::header;
using testsupport::zip_of;

// One module, app.py, with handlers the tests pick by name.
const char* kApp = R"PY(import json, logging, os, sys, time

count = 0

def counter(event, context):
    global count
    count += 1
    if event.get("sleep"):
        time.sleep(event["sleep"])
    return {"count": count, "pid": os.getpid()}

def context_info(event, context):
    first = context.get_remaining_time_in_millis()
    time.sleep(0.05)
    second = context.get_remaining_time_in_millis()
    print("print from request", context.aws_request_id)
    logging.getLogger().warning("logged %s", "warning")
    return {
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "memory_is_int": isinstance(context.memory_limit_in_mb, int),
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "client_context": context.client_context,
        "identity": context.identity,
        "first": first,
        "second": second,
        "trace": os.environ.get("_X_AMZN_TRACE_ID"),
        "execution_env": os.environ.get("AWS_EXECUTION_ENV"),
        "sys_path0": sys.path[0],
        "event": event,
    }

def validate(value):
    if value < 0:
        raise ValueError("negative value: %d" % value)

def fails(event, context):
    validate(event["value"])
    return "unreachable"

def echo(event, context):
    return event

def unicode_info(event, context):
    return {"text": event["text"], "code_points": len(event["text"])}

def shout(event, context):
    # Writes in one go more than the output pipe holds (1 MiB).
    sys.stdout.write("y" * (event["bytes"] - 1) + "\n")
    sys.stdout.flush()
    return "said"
)PY";

class PythonRuntimeTest : public testsupport::DaemonTest {
 protected:
  void SetUp() override { start(); }
  int create(const std::string& name, const std::string& handler,
             const std::map<std::string, std::string>& files = {{"app.py", kApp}},
             json extra = json::object()) {
    extra["Runtime"] = "python3.12";
    extra["Handler"] = handler;
    return daemon_->create_function(name, extra, zip_of(files));
  }
};

TEST_F(PythonRuntimeTest, CreateRequiresAHandler) {
  json body = {{"FunctionName", "nohandler"},
               {"Runtime", "python3.12"},
               {"Role", "arn:aws:iam::000000000000:role/test"},
               {"Code", {{"ZipFile", common::base64_encode(zip_of({{"app.py", kApp}}))}}}};
  auto r = daemon_->client().Post("/2015-03-31/functions", body.dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(header(r, "x-amzn-ErrorType"), "InvalidParameterValueException");
}

TEST_F(PythonRuntimeTest, HandlerResolutionErrorsHaveAwsTypesAndMessages) {
  ASSERT_EQ(create("nomodule", "nosuch.handler"), 201);
  auto r = daemon_->invoke("nomodule", "{}");
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(header(r, "X-Amz-Function-Error"), "Unhandled");
  EXPECT_EQ(body_json(r)["errorType"], "Runtime.ImportModuleError");
  EXPECT_EQ(body_json(r)["errorMessage"],
            "Unable to import module 'nosuch': No module named 'nosuch'");

  ASSERT_EQ(create("nofunction", "app.nope"), 201);
  auto f = daemon_->invoke("nofunction", "{}");
  EXPECT_EQ(body_json(f)["errorType"], "Runtime.HandlerNotFound");
  EXPECT_EQ(body_json(f)["errorMessage"], "Handler 'nope' missing on module 'app'");

  ASSERT_EQ(create("syntax", "broken.handler", {{"broken.py", "def handler(event, context)\n"}}),
            201);
  auto s = daemon_->invoke("syntax", "{}");
  EXPECT_EQ(body_json(s)["errorType"], "Runtime.UserCodeSyntaxError");
  EXPECT_TRUE(body_json(s)["errorMessage"].get<std::string>().starts_with(
      "Syntax error in module 'broken': "))
      << s->body;
  // The init error is in the function's log too, as AWS's runtime prints it.
  EXPECT_NE(daemon_->function_log("syntax").find("[ERROR] Runtime.UserCodeSyntaxError"),
            std::string::npos);
}

TEST_F(PythonRuntimeTest, DottedPackageHandlerIsImported) {
  ASSERT_EQ(create("dotted", "pkg.sub.mod.handler",
                   {{"pkg/__init__.py", ""},
                    {"pkg/sub/__init__.py", ""},
                    {"pkg/sub/mod.py", "def handler(event, context):\n    return __name__\n"}}),
            201);
  auto r = daemon_->invoke("dotted", "{}");
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "\"pkg.sub.mod\"");
}

TEST_F(PythonRuntimeTest, ExceptionAtImportIsAnInitErrorRetriedAtTheNextInvocation) {
  ASSERT_EQ(create("initfail", "boom.handler",
                   {{"boom.py",
                     "print('importing boom')\nraise RuntimeError('no config')\n"
                     "def handler(e, c):\n    return 1\n"}}),
            201);
  for (int i = 0; i < 2; ++i) {
    auto r = daemon_->invoke("initfail", "{}");
    ASSERT_EQ(r->status, 200);
    EXPECT_EQ(header(r, "X-Amz-Function-Error"), "Unhandled");
    auto e = body_json(r);
    EXPECT_EQ(e["errorType"], "RuntimeError");
    EXPECT_EQ(e["errorMessage"], "no config");
    ASSERT_TRUE(e["stackTrace"].is_array());
    EXPECT_NE(e["stackTrace"].dump().find("/var/task/boom.py"), std::string::npos) << r->body;
  }
  const std::string log = daemon_->function_log("initfail");
  const auto first = log.find("importing boom");
  ASSERT_NE(first, std::string::npos) << log;
  EXPECT_NE(log.find("importing boom", first + 1), std::string::npos) << "init ran once: " << log;
}

TEST_F(PythonRuntimeTest, HandlerErrorCarriesTypeMessageRequestIdAndUserFrames) {
  ASSERT_EQ(create("fails", "app.fails"), 201);
  auto r = daemon_->invoke("fails", R"({"value":-3})");
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(header(r, "X-Amz-Function-Error"), "Unhandled");
  auto e = body_json(r);
  EXPECT_EQ(e["errorType"], "ValueError");
  EXPECT_EQ(e["errorMessage"], "negative value: -3");
  EXPECT_EQ(e["requestId"], header(r, "x-amzn-RequestId"));
  ASSERT_EQ(e["stackTrace"].size(), 2u) << r->body;
  const std::string outer = e["stackTrace"][0], inner = e["stackTrace"][1];
  EXPECT_TRUE(outer.starts_with("  File \"/var/task/app.py\", line ")) << outer;
  EXPECT_NE(outer.find(", in fails"), std::string::npos) << outer;
  EXPECT_NE(inner.find(", in validate\n    raise ValueError("), std::string::npos) << inner;
  EXPECT_EQ(r->body.find("bootstrap.py"), std::string::npos) << r->body;
  // A handled error keeps the environment.
  auto ok = daemon_->invoke("fails", R"({"value":1})");
  EXPECT_EQ(header(ok, "X-Amz-Function-Error"), "");
  EXPECT_EQ(ok->body, "\"unreachable\"");
  const std::string log = daemon_->function_log("fails");
  EXPECT_NE(log.find("[ERROR] ValueError: negative value: -3\rTraceback"), std::string::npos)
      << log;
  EXPECT_EQ(log.find("Init Duration"), log.rfind("Init Duration")) << "one cold start: " << log;
}

TEST_F(PythonRuntimeTest, ContextDescribesTheInvocation) {
  ASSERT_EQ(create("ctx", "app.context_info", {{"app.py", kApp}}, {{"MemorySize", 256}}), 201);
  const std::string client_context = R"({"custom":{"k":"v"}})";
  const std::string trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1";
  auto r = daemon_->invoke("ctx", R"({"k":[1,2]})",
                           {{"X-Amz-Client-Context", common::base64_encode(client_context)},
                            {"X-Amzn-Trace-Id", trace}});
  ASSERT_EQ(r->status, 200) << r->body;
  auto c = body_json(r);
  const std::string rid = header(r, "x-amzn-RequestId");
  EXPECT_EQ(c["request_id"], rid);
  EXPECT_EQ(c["function_name"], "ctx");
  EXPECT_EQ(c["function_version"], "$LATEST");
  EXPECT_EQ(c["invoked_function_arn"], "arn:aws:lambda:us-east-1:000000000000:function:ctx");
  EXPECT_EQ(c["memory_limit_in_mb"], 256);
  EXPECT_EQ(c["memory_is_int"], true);
  EXPECT_EQ(c["log_group_name"], "/aws/lambda/ctx");
  EXPECT_NE(c["log_stream_name"].get<std::string>().find("[$LATEST]"), std::string::npos);
  EXPECT_EQ(c["client_context"], json::parse(client_context));
  EXPECT_TRUE(c["identity"].is_null());
  EXPECT_EQ(c["trace"], trace);
  EXPECT_EQ(c["execution_env"], "AWS_Lambda_python3.12");
  EXPECT_EQ(c["sys_path0"], "/var/task");
  EXPECT_EQ(c["event"], json::parse(R"({"k":[1,2]})"));
  const int first = c["first"], second = c["second"];
  EXPECT_GT(first, 2000);
  EXPECT_LE(first, 3000);
  EXPECT_GE(first - second, 40);
  const std::string log = daemon_->function_log("ctx");
  EXPECT_NE(log.find("START RequestId: " + rid + " Version: $LATEST"), std::string::npos) << log;
  EXPECT_NE(log.find("print from request " + rid + "\n"), std::string::npos) << log;
  EXPECT_NE(log.find("[WARNING]\t"), std::string::npos) << log;
  EXPECT_NE(log.find("\t" + rid + "\tlogged warning\n"), std::string::npos) << log;
}

TEST_F(PythonRuntimeTest, GlobalStateSurvivesWarmInvocationsButNotATimeout) {
  ASSERT_EQ(create("state", "app.counter", {{"app.py", kApp}}, {{"Timeout", 1}}), 201);
  testsupport::expect_state_kept_warm_and_lost_after_timeout(*daemon_, "state", R"({"sleep":2})");
}

TEST_F(PythonRuntimeTest, PayloadNearSixMegabytesIsEchoed) {
  ASSERT_EQ(create("big", "app.echo"), 201);
  testsupport::expect_payload_near_six_megabytes_echoed(*daemon_, "big");
}

TEST_F(PythonRuntimeTest, UnicodeRoundTripsAsCodePoints) {
  ASSERT_EQ(create("uni", "app.unicode_info"), 201);
  testsupport::expect_unicode_round_trip(*daemon_, "uni", "code_points");
}

// A runtime writing faster than the daemon drains its output blocks, as on a terminal: it never
// sees EAGAIN (Python would raise BlockingIOError), and every byte reaches the log.
TEST_F(PythonRuntimeTest, OutputLargerThanThePipeBlocksInsteadOfFailing) {
  ASSERT_EQ(create("loud", "app.shout"), 201);
  constexpr size_t kBytes = 3 << 20;
  auto r = daemon_->invoke("loud", json{{"bytes", kBytes}}.dump());
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "\"said\"") << r->body.substr(0, 500);
  const std::string log = daemon_->function_log("loud");
  const auto report = log.find("REPORT RequestId");  // "Memory" has a 'y' too
  ASSERT_NE(report, std::string::npos);
  EXPECT_EQ(static_cast<size_t>(std::count(log.begin(), log.begin() + report, 'y')), kBytes - 1);
}

// The bootstrap imports json, logging and socket only when needed, yet a function that ships a
// json.py or logging.py of its own still gets the standard library's from `import json`, as when
// the bootstrap imported them at start (and as on Lambda), and logging is Lambda's when imported
// after init. Its other modules are its own.
TEST_F(PythonRuntimeTest, ModulesTheRuntimeUsesAreTheStandardLibrarysEvenWhenShadowed) {
  const std::map<std::string, std::string> files = {
      {"json.py", "raise RuntimeError(\"the function's json.py was imported\")\n"},
      {"logging.py", "raise RuntimeError(\"the function's logging.py was imported\")\n"},
      {"helper.py", "WHO = 'the function'\n"},
      {"app.py", R"PY(import helper

def handler(event, context):
    import json, logging
    logging.getLogger().warning("late %s", "logging")
    return {"json": json.__file__, "logging": logging.__file__, "helper": helper.WHO,
            "dumps": json.dumps({"a": [1]})}
)PY"}};
  ASSERT_EQ(create("shadowed", "app.handler", files), 201);
  auto r = daemon_->invoke("shadowed", "{}");
  ASSERT_EQ(r->status, 200);
  ASSERT_EQ(header(r, "X-Amz-Function-Error"), "") << r->body;
  auto b = body_json(r);
  EXPECT_TRUE(b["json"].get<std::string>().starts_with("/usr/lib/python3")) << r->body;
  EXPECT_TRUE(b["logging"].get<std::string>().starts_with("/usr/lib/python3")) << r->body;
  EXPECT_EQ(b["helper"], "the function");
  EXPECT_EQ(b["dumps"], R"({"a": [1]})");
  const std::string rid = header(r, "x-amzn-RequestId");
  const std::string log = daemon_->function_log("shadowed");
  EXPECT_NE(log.find("[WARNING]\t"), std::string::npos) << log;
  EXPECT_NE(log.find("\t" + rid + "\tlate logging"), std::string::npos) << log;
}

TEST_F(PythonRuntimeTest, MissingBootstrapIsRuntimeInvalidEntrypoint) {
  testsupport::TempDir empty("rt-no-runtimes");
  DaemonProcess other({"--runtimes-dir", empty.path().string()});
  ASSERT_EQ(other.create_function("p", {{"Runtime", "python3.12"}, {"Handler", "app.echo"}},
                                  zip_of({{"app.py", kApp}})),
            201);
  auto r = other.invoke("p", "{}");
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(body_json(r)["errorType"], "Runtime.InvalidEntrypoint");
  EXPECT_NE(body_json(r)["errorMessage"].get<std::string>().find("bootstrap.py is missing"),
            std::string::npos)
      << r->body;
  testsupport::expect_clean_stop(other);
}

}  // namespace

// A stem's view of itself: how long its process has lived (it started before its function was
// created when it was a stem), and what a function started with its environment would see.
const char* kStemApp = R"PY(import os, subprocess, sys, time

def handler(event, context):
    with open("/proc/self/stat") as f:
        start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    import vendored
    return {
        "age": uptime - start_ticks / os.sysconf("SC_CLK_TCK"),
        "cwd": os.getcwd(),
        "stem_fd": os.environ.get("RUNTIMED_STEM_FD"),
        "greeting": os.environ.get("GREETING"),
        "child_greeting": subprocess.run(["/bin/sh", "-c", "echo $GREETING"],
                                         capture_output=True, text=True).stdout.strip(),
        "timezone": time.timezone,
        "vendored": vendored.where,
        "function_name": os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),
    }
)PY";

TEST_F(PythonRuntimeTest, AColdStartTakesAWaitingStemThatRunsAsIfStartedWithItsFunction) {
  // One stem ready per language: python's, and node's when node is installed.
  const int languages = std::filesystem::exists("/usr/bin/node") ? 2 : 1;
  ASSERT_EQ(restart_with_stems(languages), languages) << daemon_->daemon_log();
  // The stem now waiting is at least this old when its function runs.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const json environment = {{"Variables",
                             {{"GREETING", "hi from the function"},
                              {"TZ", "JST-9"},
                              {"PYTHONPATH", "/var/task/vendor"}}}};
  const std::map<std::string, std::string> files = {
      {"stem.py", kStemApp}, {"vendor/vendored.py", "where = 'vendor dir'\n"}};
  ASSERT_EQ(create("stemmed", "stem.handler", files, {{"Environment", environment}}), 201);
  auto r = daemon_->invoke("stemmed", "{}");
  ASSERT_EQ(r->status, 200);
  ASSERT_EQ(header(r, "X-Amz-Function-Error"), "") << r->body;
  auto b = body_json(r);
  EXPECT_GE(b["age"].get<double>(), 2.9) << "not a stem: " << r->body;
  EXPECT_EQ(b["cwd"], "/var/task");
  EXPECT_TRUE(b["stem_fd"].is_null()) << r->body;
  EXPECT_EQ(b["greeting"], "hi from the function");
  EXPECT_EQ(b["child_greeting"], "hi from the function");
  EXPECT_EQ(b["timezone"], -9 * 3600);
  EXPECT_EQ(b["vendored"], "vendor dir");
  EXPECT_EQ(b["function_name"], "stemmed");
  // REPORT still has its Init Duration: it was a cold start, only a cheaper one.
  EXPECT_NE(daemon_->function_log("stemmed").find("Init Duration: "), std::string::npos);

  // A variable the interpreter reads as it starts: no stem, a fresh interpreter.
  const json bytecode = {
      {"Variables", {{"PYTHONDONTWRITEBYTECODE", "1"}, {"PYTHONPATH", "/var/task/vendor"}}}};
  std::this_thread::sleep_for(std::chrono::seconds(3));
  ASSERT_EQ(create("fresh", "stem.handler", files, {{"Environment", bytecode}}), 201);
  auto f = daemon_->invoke("fresh", "{}");
  ASSERT_EQ(header(f, "X-Amz-Function-Error"), "") << f->body;
  EXPECT_LT(body_json(f)["age"].get<double>(), 2.9) << "a stem despite PYTHON*: " << f->body;
}
