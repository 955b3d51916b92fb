// The managed nodejs20.x runtime in a real daemon and real sandboxes: CommonJS, ES module and
// callback handlers, errors in AWS's shapes, the context object, warm state, payloads, V8 flags.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "tests/integration/daemon_test.hpp"

namespace {

using nlohmann::json;
using testsupport::body_json;
using testsupport::header;
using testsupport::zip_of;

// index.js (CommonJS) with handlers the tests pick by name.
const char* kIndex = R"JS('use strict';
let count = 0;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

exports.counter = async (event) => {
  count += 1;
  if (event.sleepMs) await sleep(event.sleepMs);
  return { count, pid: process.pid };
};

exports.contextInfo = async (event, context) => {
  const first = context.getRemainingTimeInMillis();
  await sleep(50);
  const second = context.getRemainingTimeInMillis();
  console.log('log from request', context.awsRequestId);
  return {
    awsRequestId: context.awsRequestId,
    functionName: context.functionName,
    functionVersion: context.functionVersion,
    invokedFunctionArn: context.invokedFunctionArn,
    memoryLimitInMB: context.memoryLimitInMB,
    logGroupName: context.logGroupName,
    logStreamName: context.logStreamName,
    clientContext: context.clientContext ?? null,
    identity: context.identity ?? null,
    callbackWaitsForEmptyEventLoop: context.callbackWaitsForEmptyEventLoop,
    first,
    second,
    trace: process.env._X_AMZN_TRACE_ID,
    executionEnv: process.env.AWS_EXECUTION_ENV,
    event,
  };
};

function validate(value) {
  if (value < 0) throw new TypeError(`negative value: ${value}`);
}
exports.fails = async (event) => {
  validate(event.value);
  return 'unreachable';
};

exports.echo = async (event) => event;
exports.unicode = async (event) => ({ text: event.text, codePoints: [...event.text].length });
exports.flags = async () => process.execArgv;

// Callback style: the answer waits for the event loop to drain unless told not to.
exports.callback = (event, context, callback) => {
  context.callbackWaitsForEmptyEventLoop = event.wait;
  setTimeout(() => console.log('timer done'), 400);
  callback(null, { style: 'callback' });
};
exports.callbackError = (event, context, callback) => {
  callback(new RangeError('out of range'));
};
exports.promise = (event) => Promise.resolve({ style: 'promise', event });

// Errors nobody handles: a rejected promise left alone, an exception thrown from a timer.
exports.rejects = async () => {
  Promise.reject(new Error('lost promise'));
  await sleep(200);
  return 'unreachable';
};
exports.throwsLater = async () => {
  setTimeout(() => { throw new TypeError('thrown from a timer'); }, 10);
  await sleep(200);
  return 'unreachable';
};
)JS";

class NodeRuntimeTest : public testsupport::DaemonTest {
 protected:
  void SetUp() override { start(); }
  int create(const std::string& name, const std::string& handler,
             const std::map<std::string, std::string>& files = {{"index.js", kIndex}},
             json extra = json::object()) {
    extra["Runtime"] = "nodejs20.x";
    extra["Handler"] = handler;
    return daemon_->create_function(name, extra, zip_of(files));
  }
};

TEST_F(NodeRuntimeTest, HandlerResolutionErrorsHaveAwsTypesAndMessages) {
  ASSERT_EQ(create("nomodule", "missing.handler"), 201);
  auto r = daemon_->invoke("nomodule", "{}");
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(header(r, "X-Amz-Function-Error"), "Unhandled");
  EXPECT_EQ(body_json(r)["errorType"], "Runtime.ImportModuleError");
  EXPECT_TRUE(body_json(r)["errorMessage"].get<std::string>().starts_with(
      "Error: Cannot find module 'missing'"))
      << r->body;

  ASSERT_EQ(create("noexport", "index.nope"), 201);
  auto f = daemon_->invoke("noexport", "{}");
  EXPECT_EQ(body_json(f)["errorType"], "Runtime.HandlerNotFound");
  EXPECT_EQ(body_json(f)["errorMessage"], "index.nope is undefined or not exported");

  ASSERT_EQ(create("syntax", "bad.handler", {{"bad.js", "exports.handler = async (e => 1;\n"}}),
            201);
  auto s = daemon_->invoke("syntax", "{}");
  EXPECT_EQ(body_json(s)["errorType"], "Runtime.UserCodeSyntaxError") << s->body;
}

TEST_F(NodeRuntimeTest, ExceptionAtLoadIsAnInitError) {
  ASSERT_EQ(create("initfail", "boom.handler",
                   {{"boom.js", "console.log('loading boom');\nthrow new Error('no config');\n"}}),
            201);
  auto r = daemon_->invoke("initfail", "{}");
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(header(r, "X-Amz-Function-Error"), "Unhandled");
  auto e = body_json(r);
  EXPECT_EQ(e["errorType"], "Error");
  EXPECT_EQ(e["errorMessage"], "no config");
  ASSERT_TRUE(e["trace"].is_array()) << r->body;
  EXPECT_EQ(e["trace"][0], "Error: no config");
  EXPECT_NE(e["trace"].dump().find("/var/task/boom.js"), std::string::npos) << r->body;
  EXPECT_NE(daemon_->function_log("initfail").find("loading boom"), std::string::npos);
}

TEST_F(NodeRuntimeTest, HandlerErrorCarriesTypeMessageAndTrace) {
  ASSERT_EQ(create("fails", "index.fails"), 201);
  auto r = daemon_->invoke("fails", R"({"value":-3})");
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(header(r, "X-Amz-Function-Error"), "Unhandled");
  auto e = body_json(r);
  EXPECT_EQ(e["errorType"], "TypeError");
  EXPECT_EQ(e["errorMessage"], "negative value: -3");
  EXPECT_FALSE(e.contains("stackTrace"));
  ASSERT_GE(e["trace"].size(), 3u) << r->body;
  EXPECT_EQ(e["trace"][0], "TypeError: negative value: -3");
  EXPECT_NE(e["trace"][1].get<std::string>().find("at validate (/var/task/index.js:"),
            std::string::npos)
      << r->body;
  // A handled error keeps the environment.
  auto ok = daemon_->invoke("fails", R"({"value":1})");
  EXPECT_EQ(ok->body, "\"unreachable\"");
  const std::string log = daemon_->function_log("fails");
  EXPECT_NE(log.find("\tERROR\tInvoke Error \t{\"errorType\":\"TypeError\""), std::string::npos)
      << log;
  EXPECT_EQ(log.find("Init Duration"), log.rfind("Init Duration")) << "one cold start: " << log;
}

TEST_F(NodeRuntimeTest, CommonJsEsModuleAndCallbackHandlersAllAnswer) {
  ASSERT_EQ(create("cjs", "index.promise"), 201);
  EXPECT_EQ(body_json(daemon_->invoke("cjs", R"({"a":1})")),
            json::parse(R"({"style":"promise","event":{"a":1}})"));

  ASSERT_EQ(create("cjsext", "lib/handler.run",
                   {{"lib/handler.cjs", "module.exports.run = async () => 'cjs file';\n"}}),
            201);
  EXPECT_EQ(daemon_->invoke("cjsext", "{}")->body, "\"cjs file\"");

  ASSERT_EQ(
      create("mjs", "app.handler",
             {{"app.mjs", "export const handler = async (e) => ({ esm: import.meta.url });\n"}}),
      201);
  EXPECT_EQ(daemon_->invoke("mjs", "{}")->body, R"({"esm":"file:///var/task/app.mjs"})");

  ASSERT_EQ(create("esmjs", "app.handler",
                   {{"package.json", R"({"type":"module"})"},
                    {"app.js", "export async function handler() { return typeof require; }\n"}}),
            201);
  EXPECT_EQ(daemon_->invoke("esmjs", "{}")->body, "\"undefined\"");

  ASSERT_EQ(create("cb", "index.callback"), 201);
  auto waits = daemon_->invoke("cb", R"({"wait":true})", {{"X-Amz-Log-Type", "Tail"}});
  EXPECT_EQ(waits->body, R"({"style":"callback"})");
  // The answer came after the pending timer ran.
  EXPECT_NE(
      common::base64_decode(header(waits, "X-Amz-Log-Result")).value_or("").find("timer done"),
      std::string::npos);
  const auto start = std::chrono::steady_clock::now();
  auto early = daemon_->invoke("cb", R"({"wait":false})");
  EXPECT_EQ(early->body, R"({"style":"callback"})");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(300));

  ASSERT_EQ(create("cberr", "index.callbackError"), 201);
  auto err = daemon_->invoke("cberr", "{}");
  EXPECT_EQ(header(err, "X-Amz-Function-Error"), "Unhandled");
  EXPECT_EQ(body_json(err)["errorType"], "RangeError");
  EXPECT_EQ(body_json(err)["errorMessage"], "out of range");
}

TEST_F(NodeRuntimeTest, ContextDescribesTheInvocation) {
  ASSERT_EQ(create("ctx", "index.contextInfo", {{"index.js", kIndex}}, {{"MemorySize", 256}}), 201);
  const std::string client_context = R"({"custom":{"k":"v"}})";
  const std::string trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1";
  auto r = daemon_->invoke("ctx", R"({"k":[1,2]})",
                           {{"X-Amz-Client-Context", common::base64_encode(client_context)},
                            {"X-Amzn-Trace-Id", trace}});
  ASSERT_EQ(r->status, 200) << r->body;
  auto c = body_json(r);
  const std::string rid = header(r, "x-amzn-RequestId");
  EXPECT_EQ(c["awsRequestId"], rid);
  EXPECT_EQ(c["functionName"], "ctx");
  EXPECT_EQ(c["functionVersion"], "$LATEST");
  EXPECT_EQ(c["invokedFunctionArn"], "arn:aws:lambda:us-east-1:000000000000:function:ctx");
  EXPECT_EQ(c["memoryLimitInMB"], "256");
  EXPECT_EQ(c["logGroupName"], "/aws/lambda/ctx");
  EXPECT_NE(c["logStreamName"].get<std::string>().find("[$LATEST]"), std::string::npos);
  EXPECT_EQ(c["clientContext"], json::parse(client_context));
  EXPECT_TRUE(c["identity"].is_null());
  EXPECT_EQ(c["callbackWaitsForEmptyEventLoop"], true);
  EXPECT_EQ(c["trace"], trace);
  EXPECT_EQ(c["executionEnv"], "AWS_Lambda_nodejs20.x");
  EXPECT_EQ(c["event"], json::parse(R"({"k":[1,2]})"));
  const int first = c["first"], second = c["second"];
  EXPECT_GT(first, 2000);
  EXPECT_LE(first, 3000);
  EXPECT_GE(first - second, 40);
  const std::string log = daemon_->function_log("ctx");
  EXPECT_NE(log.find("START RequestId: " + rid + " Version: $LATEST"), std::string::npos) << log;
  EXPECT_NE(log.find("\t" + rid + "\tINFO\tlog from request " + rid + "\n"), std::string::npos)
      << log;
}

TEST_F(NodeRuntimeTest, UnhandledErrorsAnswerTheInvocationAndTheNextOneStartsCold) {
  ASSERT_EQ(create("unhandled", "index.rejects"), 201);
  auto r = daemon_->invoke("unhandled", "{}");
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(header(r, "X-Amz-Function-Error"), "Unhandled");
  EXPECT_EQ(body_json(r)["errorType"], "Runtime.UnhandledPromiseRejection") << r->body;
  EXPECT_EQ(body_json(r)["errorMessage"], "Error: lost promise") << r->body;

  ASSERT_EQ(create("uncaught", "index.throwsLater"), 201);
  auto t = daemon_->invoke("uncaught", "{}");
  EXPECT_EQ(body_json(t)["errorType"], "TypeError") << t->body;
  EXPECT_EQ(body_json(t)["errorMessage"], "thrown from a timer") << t->body;
  // The environment exited; the next invocation gets a fresh one (Init Duration again).
  auto again = daemon_->invoke("uncaught", "{}", {{"X-Amz-Log-Type", "Tail"}});
  EXPECT_EQ(body_json(again)["errorType"], "TypeError");
  const std::string tail = common::base64_decode(header(again, "X-Amz-Log-Result")).value_or("");
  EXPECT_NE(tail.find("Init Duration"), std::string::npos) << tail;
}

// Four clients call functions whose environments die after every invocation: each call gets its
// own function's error, never a Runtime.ExitError from an environment another call killed, and
// every call is logged START, END, REPORT.
TEST_F(NodeRuntimeTest, CallsRacingADyingEnvironmentRunOnAFreshOne) {
  ASSERT_EQ(create("unhandled", "index.rejects"), 201);
  ASSERT_EQ(create("uncaught", "index.throwsLater"), 201);
  constexpr int kClients = 4, kCallsEach = 12;
  std::mutex mu;
  std::vector<std::string> wrong;
  std::map<std::string, std::vector<std::string>> request_ids;  // per function
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; i < kCallsEach; ++i) {
        const bool rejects = (c + i) % 2 == 0;
        const std::string fn = rejects ? "unhandled" : "uncaught";
        auto r = daemon_->invoke(fn, "{}");
        std::lock_guard lock(mu);
        if (!r) {
          wrong.push_back("no answer");
          continue;
        }
        const auto type = r->status == 200 ? body_json(r).value("errorType", "") : "";
        if (type != (rejects ? "Runtime.UnhandledPromiseRejection" : "TypeError")) {
          wrong.push_back(std::to_string(r->status) + " " + r->body);
        }
        request_ids[fn].push_back(header(r, "x-amzn-RequestId"));
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(wrong, std::vector<std::string>{});
  for (const auto& [fn, ids] : request_ids) {
    const std::string log = daemon_->function_log(fn);
    for (const auto& id : ids) {
      for (const char* kind : {"START", "END", "REPORT"}) {
        const std::string line = std::string(kind) + " RequestId: " + id;
        const auto first = log.find(line);
        EXPECT_NE(first, std::string::npos) << line << " missing";
        EXPECT_EQ(log.find(line, first + 1), std::string::npos) << line << " twice";
      }
    }
  }
}

TEST_F(NodeRuntimeTest, GlobalStateSurvivesWarmInvocationsButNotATimeout) {
  ASSERT_EQ(create("state", "index.counter", {{"index.js", kIndex}}, {{"Timeout", 1}}), 201);
  testsupport::expect_state_kept_warm_and_lost_after_timeout(*daemon_, "state",
                                                             R"({"sleepMs":2000})");
}

TEST_F(NodeRuntimeTest, PayloadNearSixMegabytesIsEchoed) {
  ASSERT_EQ(create("big", "index.echo"), 201);
  testsupport::expect_payload_near_six_megabytes_echoed(*daemon_, "big");
}

TEST_F(NodeRuntimeTest, UnicodeRoundTripsAsCodePoints) {
  ASSERT_EQ(create("uni", "index.unicode"), 201);
  testsupport::expect_unicode_round_trip(*daemon_, "uni", "codePoints");
}

TEST_F(NodeRuntimeTest, HeapFlagsFollowTheFunctionsMemory) {
  ASSERT_EQ(create("flags", "index.flags"), 201);
  auto flags = body_json(daemon_->invoke("flags", "{}"));
  EXPECT_EQ(flags, json::parse(R"(["--max-old-space-size=115","--max-semi-space-size=6"])"));
  ASSERT_EQ(create("flags1g", "index.flags", {{"index.js", kIndex}}, {{"MemorySize", 1024}}), 201);
  EXPECT_EQ(body_json(daemon_->invoke("flags1g", "{}")),
            json::parse(R"(["--max-old-space-size=921","--max-semi-space-size=51"])"));
}

}  // namespace

namespace {

// A stem's view of itself (see the python runtime's test of the same name).
const char* kStemIndex = R"JS('use strict';
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');
exports.handler = async () => {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  const startTicks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  const uptime = Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  return {
    age: uptime - startTicks / 100,
    cwd: process.cwd(),
    stemFd: process.env.RUNTIMED_STEM_FD ?? null,
    greeting: process.env.GREETING,
    childGreeting: execFileSync('/bin/sh', ['-c', 'echo $GREETING']).toString().trim(),
    vendored: require('vendored').where,
    offsetMinutes: new Date(0).getTimezoneOffset(),
    argv: process.execArgv,
  };
};
)JS";

TEST_F(NodeRuntimeTest, AColdStartTakesAWaitingStemThatRunsAsIfStartedWithItsFunction) {
  // One stem ready per language: python's and node's.
  ASSERT_EQ(restart_with_stems(2), 2) << daemon_->daemon_log();
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const json environment = {{"Variables",
                             {{"GREETING", "hi from the function"},
                              {"TZ", "Etc/GMT-9"},
                              {"NODE_PATH", "/var/task/vendor"}}}};
  const std::map<std::string, std::string> files = {
      {"index.js", kStemIndex}, {"vendor/vendored/index.js", "exports.where = 'vendor dir';\n"}};
  ASSERT_EQ(create("stemmed", "index.handler", files, {{"Environment", environment}}), 201);
  auto r = daemon_->invoke("stemmed", "{}");
  ASSERT_EQ(r->status, 200);
  ASSERT_EQ(header(r, "X-Amz-Function-Error"), "") << r->body;
  auto b = body_json(r);
  EXPECT_GE(b["age"].get<double>(), 2.9) << "not a stem: " << r->body;
  EXPECT_EQ(b["cwd"], "/var/task");
  EXPECT_TRUE(b["stemFd"].is_null()) << r->body;
  EXPECT_EQ(b["greeting"], "hi from the function");
  EXPECT_EQ(b["childGreeting"], "hi from the function");
  EXPECT_EQ(b["vendored"], "vendor dir");
  EXPECT_EQ(b["offsetMinutes"], -540) << r->body;
  EXPECT_EQ(b["argv"], json::parse(R"(["--max-old-space-size=115","--max-semi-space-size=6"])"));

  // Another memory size means other V8 flags than the stem's: a fresh node.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  ASSERT_EQ(
      create("bigger", "index.handler", files, {{"Environment", environment}, {"MemorySize", 256}}),
      201);
  auto f = daemon_->invoke("bigger", "{}");
  ASSERT_EQ(header(f, "X-Amz-Function-Error"), "") << f->body;
  EXPECT_LT(body_json(f)["age"].get<double>(), 2.9) << "a stem of another size: " << f->body;
}

}  // namespace
