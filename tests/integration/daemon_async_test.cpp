// The real daemon's concurrency caps (429 at once, never queued) and durable asynchronous
// invocation: retries counted from the function's own log, dead-letter queues byte for byte,
// event age expiry, destinations, and a SIGKILL in the middle of a 1,000-event backlog.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "tests/eventually.hpp"
#include "tests/integration/daemon_test.hpp"

namespace {

using nlohmann::json;
using testsupport::DaemonProcess;
using testsupport::eventually;
using testsupport::header;
using Clock = std::chrono::steady_clock;

size_t count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t p = haystack.find(needle); p != std::string::npos; p = haystack.find(needle, p + 1))
    ++n;
  return n;
}

std::string sqs_arn(const std::string& name) {
  return "arn:aws:sqs:us-east-1:000000000000:" + name;
}
std::string fn_arn(const std::string& name) {
  return "arn:aws:lambda:us-east-1:000000000000:function:" + name;
}

int64_t depth(const DaemonProcess& d, const std::string& queue) { return d.queue_depth(queue); }

// The value of sample `name` (with its labels) in GET /metrics (-1 when absent).
double metric(const DaemonProcess& d, const std::string& name) {
  auto r = d.client().Get("/metrics");
  if (!r || r->status != 200) return -1;
  const auto at = r->body.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::stod(r->body.substr(at + name.size() + 2));
}

json receive(const DaemonProcess& d, const std::string& queue, int max = 10000,
             int visibility = 600) {
  auto r = d.client().Post("/runtimed/v1/queues/" + queue + "/receive?max=" + std::to_string(max) +
                               "&visibility=" + std::to_string(visibility),
                           "", "application/json");
  if (!r || r->status != 200) return json::array();
  return json::parse(r->body)["Messages"];
}

httplib::Result invoke_async(const DaemonProcess& d, const std::string& name,
                             const std::string& payload) {
  return d.invoke(name, payload, {{"X-Amz-Invocation-Type", "Event"}});
}

httplib::Result put_json(const DaemonProcess& d, const std::string& path, const json& body) {
  return d.client().Put(path, body.dump(), "application/json");
}

class DaemonAsyncTest : public testsupport::DaemonTest {};

TEST_F(DaemonAsyncTest, AccountSettingsReportTheLimitsTheHostEnforces) {
  // 2 GB holds sixteen 128 MB environments or two of 1 GB: below the concurrency limit of 50.
  start({"--memory-budget-mb", "2048", "--concurrency-limit", "50"});
  auto& d = *daemon_;
  auto account = d.client().Get("/2016-08-19/account-settings");
  ASSERT_EQ(account->status, 200);
  const auto a = json::parse(account->body);
  EXPECT_EQ(a["AccountLimit"]["ConcurrentExecutions"], 16) << a.dump();
  EXPECT_EQ(a["AccountLimit"]["UnreservedConcurrentExecutions"], 16) << a.dump();
  const auto& host = a["RuntimedHostLimits"];
  EXPECT_EQ(host["ConcurrencyLimit"], 50);
  EXPECT_EQ(host["MemoryBudgetMB"], 2048);
  EXPECT_EQ(host["MemoryUsedMB"], 0);
  EXPECT_EQ(host["ConcurrentExecutionsByMemoryMB"]["128"], 16);
  EXPECT_EQ(host["ConcurrentExecutionsByMemoryMB"]["1024"], 2);
  EXPECT_EQ(host["ConcurrentExecutionsByMemoryMB"]["10240"], 0);

  // With a budget that holds more than the limit, the limit is what applies.
  testsupport::expect_clean_stop(d);
  start({"--memory-budget-mb", "65536", "--concurrency-limit", "50"});
  account = daemon_->client().Get("/2016-08-19/account-settings");
  ASSERT_EQ(account->status, 200);
  EXPECT_EQ(json::parse(account->body)["AccountLimit"]["ConcurrentExecutions"], 50);
}

TEST_F(DaemonAsyncTest, ReservedConcurrencyRefusesTheBurstBeyondItAtOnce) {
  start();
  auto& d = *daemon_;
  ASSERT_EQ(d.create_function("caps", {{"Timeout", 10}}), 201);
  auto put =
      put_json(d, "/2017-10-31/functions/caps/concurrency", {{"ReservedConcurrentExecutions", 2}});
  ASSERT_EQ(put->status, 200) << put->body;
  EXPECT_EQ(json::parse(put->body), (json{{"ReservedConcurrentExecutions", 2}}));
  auto got = d.client().Get("/2019-09-30/functions/caps/concurrency");
  EXPECT_EQ(json::parse(got->body), (json{{"ReservedConcurrentExecutions", 2}}));
  auto fn = d.client().Get("/2015-03-31/functions/caps");
  EXPECT_EQ(json::parse(fn->body)["Concurrency"], (json{{"ReservedConcurrentExecutions", 2}}));
  auto account = d.client().Get("/2016-08-19/account-settings/");
  ASSERT_EQ(account->status, 200);
  const auto a = json::parse(account->body);
  // The host's limit is the concurrency limit, or fewer if the default memory budget holds fewer
  // 128 MB environments.
  const int64_t budget = a["RuntimedHostLimits"]["MemoryBudgetMB"].get<int64_t>();
  ASSERT_GT(budget, 0) << a.dump();
  const int64_t limit = std::min<int64_t>(1000, budget / 128);
  EXPECT_EQ(a["AccountLimit"]["ConcurrentExecutions"], limit);
  EXPECT_EQ(a["AccountLimit"]["UnreservedConcurrentExecutions"], limit - 2);
  EXPECT_EQ(a["AccountLimit"]["CodeSizeUnzipped"], 262144000);
  EXPECT_EQ(a["AccountUsage"]["FunctionCount"], 1);
  EXPECT_GT(a["AccountUsage"]["TotalCodeSize"].get<int64_t>(), 0);

  struct Outcome {
    int status = 0;
    double seconds = 0;
    std::string reason, retry_after, error_type;
  };
  std::vector<Outcome> outcomes(5);
  std::vector<std::thread> callers;
  for (size_t i = 0; i < outcomes.size(); ++i) {
    callers.emplace_back([&, i] {
      const auto t0 = Clock::now();
      auto r = d.invoke("caps", R"({"action":"sleep","ms":1000})");
      outcomes[i].seconds = std::chrono::duration<double>(Clock::now() - t0).count();
      if (!r) return;
      outcomes[i].status = r->status;
      outcomes[i].retry_after = header(r, "Retry-After");
      outcomes[i].error_type = header(r, "x-amzn-ErrorType");
      if (r->status == 429) {
        const auto body = json::parse(r->body);
        outcomes[i].reason = body["Reason"];
        EXPECT_EQ(body["Type"], "User");
        EXPECT_EQ(body["message"], "Rate Exceeded.");
      }
    });
  }
  for (auto& t : callers) t.join();
  int ok = 0, refused = 0;
  for (const auto& o : outcomes) {
    if (o.status == 200) {
      ++ok;
      EXPECT_GE(o.seconds, 1.0);
    } else {
      ++refused;
      EXPECT_EQ(o.status, 429);
      EXPECT_LT(o.seconds, 0.5) << "a throttle answers at once, it is not queued";
      EXPECT_EQ(o.reason, "ReservedFunctionConcurrentInvocationLimitExceeded");
      EXPECT_EQ(o.error_type, "TooManyRequestsException");
      EXPECT_FALSE(o.retry_after.empty());
    }
  }
  EXPECT_EQ(ok, 2);
  EXPECT_EQ(refused, 3);

  // A reservation may not eat into the last 100 unreserved.
  auto greedy = put_json(d, "/2017-10-31/functions/caps/concurrency",
                         {{"ReservedConcurrentExecutions", 901}});
  EXPECT_EQ(greedy->status, 400);
  EXPECT_EQ(header(greedy, "x-amzn-ErrorType"), "InvalidParameterValueException");
  EXPECT_NE(greedy->body.find("below its minimum value of [100]"), std::string::npos)
      << greedy->body;
  auto del = d.client().Delete("/2017-10-31/functions/caps/concurrency");
  EXPECT_EQ(del->status, 204);
  EXPECT_EQ(json::parse(d.client().Get("/2019-09-30/functions/caps/concurrency")->body),
            json::object());
  auto missing = d.client().Get("/2019-09-30/functions/nope/concurrency");
  EXPECT_EQ(missing->status, 404);
}

TEST_F(DaemonAsyncTest, ReservedConcurrencyZeroThrottlesSyncAndDeadLettersEventsAtOnce) {
  start();
  auto& d = *daemon_;
  ASSERT_EQ(d.create_function("off", {{"DeadLetterConfig", {{"TargetArn", sqs_arn("off-dlq")}}}}),
            201);
  ASSERT_EQ(
      put_json(d, "/2017-10-31/functions/off/concurrency", {{"ReservedConcurrentExecutions", 0}})
          ->status,
      200);
  auto sync = d.invoke("off", "{}");
  ASSERT_EQ(sync->status, 429);
  EXPECT_EQ(json::parse(sync->body)["Reason"], "ReservedFunctionConcurrentInvocationLimitExceeded");
  const std::string payload = R"({"n": 1})";
  auto event = invoke_async(d, "off", payload);
  ASSERT_EQ(event->status, 202);
  ASSERT_TRUE(eventually([&] { return depth(d, "off-dlq") == 1; }, std::chrono::seconds(10)));
  const auto messages = receive(d, "off-dlq");
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0]["Body"], payload);
  EXPECT_EQ(messages[0]["MessageAttributes"]["ErrorCode"]["StringValue"], "429");
  EXPECT_EQ(messages[0]["MessageAttributes"]["RequestID"]["StringValue"],
            header(event, "x-amzn-RequestId"));
  EXPECT_EQ(count(d.function_log("off"), "START RequestId:"), 0u);
}

TEST_F(DaemonAsyncTest, FailingEventIsTriedThreeTimesThenDeadLetteredByteForByte) {
  start({"--async-retry-delays", "1,1"});
  auto& d = *daemon_;
  ASSERT_EQ(d.create_function("fails", {{"DeadLetterConfig", {{"TargetArn", sqs_arn("dlq")}}}}),
            201);
  // Spacing, key order and non-ASCII text must survive exactly.
  const std::string payload =
      "{ \"action\" : \"error\",\"seq\":7, \"s\":\"h\xc3\xa9llo \\u2713\" }";
  const auto t0 = Clock::now();
  auto accepted = invoke_async(d, "fails", payload);
  ASSERT_EQ(accepted->status, 202) << accepted->body;
  EXPECT_TRUE(accepted->body.empty());
  const std::string rid = header(accepted, "x-amzn-RequestId");
  ASSERT_FALSE(rid.empty());
  ASSERT_TRUE(eventually([&] { return depth(d, "dlq") == 1; }, std::chrono::seconds(30)))
      << d.daemon_log();
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_GE(elapsed, 2.0) << "1 s before the 2nd attempt, 1 s before the 3rd";
  EXPECT_EQ(count(d.function_log("fails"), "START RequestId: " + rid), 3u);
  const auto messages = receive(d, "dlq");
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0]["Body"].get<std::string>(), payload);
  const auto& attrs = messages[0]["MessageAttributes"];
  EXPECT_EQ(attrs["RequestID"]["StringValue"], rid);
  EXPECT_EQ(attrs["ErrorCode"]["StringValue"], "200");
  EXPECT_EQ(attrs["ErrorCode"]["DataType"], "Number");
  EXPECT_EQ(attrs["ErrorMessage"]["StringValue"], "boom");
  auto backlog = d.client().Get("/runtimed/v1/functions/fails/async");
  ASSERT_EQ(backlog->status, 200);
  EXPECT_EQ(json::parse(backlog->body)["Queued"], 0);
  // Two retries after the first attempt's error, then one dead letter (counted once its
  // delivery commits); the queue holds nothing.
  EXPECT_TRUE(eventually(
      [&] {
        return metric(d, R"(runtimed_async_destination_sends_total{function="fails",)"
                         R"(destination="dead_letter_queue"})") == 1;
      },
      std::chrono::seconds(5)));
  EXPECT_EQ(metric(d, R"(runtimed_async_retries_total{function="fails",reason="function_error"})"),
            2);
  EXPECT_EQ(metric(d, R"(runtimed_async_queue_depth{function="fails",state="queued"})"), -1);

  // Received messages stay hidden for their visibility timeout; deleted ones are gone.
  EXPECT_EQ(depth(d, "dlq"), 0);
  auto del = d.client().Delete("/runtimed/v1/queues/dlq/messages/" +
                               messages[0]["ReceiptHandle"].get<std::string>());
  EXPECT_EQ(del->status, 204);
  auto again = d.client().Delete("/runtimed/v1/queues/dlq/messages/" +
                                 messages[0]["ReceiptHandle"].get<std::string>());
  EXPECT_EQ(again->status, 404);

  auto oversized = invoke_async(d, "fails", "\"" + std::string(1024 * 1024, 'x') + "\"");
  EXPECT_EQ(oversized->status, 413);
}

TEST_F(DaemonAsyncTest, RedriveTurnsDeadLettersIntoNewEventsWithNewRequestIds) {
  start({"--async-retry-delays", "0,0"});
  auto& d = *daemon_;
  ASSERT_EQ(d.create_function("redo", {{"DeadLetterConfig", {{"TargetArn", sqs_arn("redo-dlq")}}}}),
            201);
  ASSERT_EQ(
      put_json(d, "/2019-09-25/functions/redo/event-invoke-config", {{"MaximumRetryAttempts", 0}})
          ->status,
      200);
  auto first = invoke_async(d, "redo", R"({"action":"error"})");
  ASSERT_TRUE(eventually([&] { return depth(d, "redo-dlq") == 1; }, std::chrono::seconds(20)));
  auto redrive = d.client().Post("/runtimed/v1/queues/redo-dlq/redrive", "", "application/json");
  ASSERT_EQ(redrive->status, 200);
  EXPECT_EQ(json::parse(redrive->body)["Redriven"], 1);
  ASSERT_TRUE(eventually([&] { return depth(d, "redo-dlq") == 1; }, std::chrono::seconds(20)));
  const auto m = receive(d, "redo-dlq");
  ASSERT_EQ(m.size(), 1u);
  EXPECT_NE(m[0]["MessageAttributes"]["RequestID"]["StringValue"],
            header(first, "x-amzn-RequestId"));
  EXPECT_EQ(count(d.function_log("redo"), "START RequestId:"), 2u);
}

TEST_F(DaemonAsyncTest, EventOlderThanItsMaximumAgeGoesToTheFailureDestination) {
  start({"--async-min-event-age", "1"});
  auto& d = *daemon_;
  ASSERT_EQ(d.create_function("busy", {{"Timeout", 20}}), 201);
  ASSERT_EQ(
      put_json(d, "/2017-10-31/functions/busy/concurrency", {{"ReservedConcurrentExecutions", 1}})
          ->status,
      200);
  auto config =
      put_json(d, "/2019-09-25/functions/busy/event-invoke-config",
               {{"MaximumEventAgeInSeconds", 2},
                {"DestinationConfig", {{"OnFailure", {{"Destination", sqs_arn("too-old")}}}}}});
  ASSERT_EQ(config->status, 200) << config->body;
  // The only slot is taken by a long synchronous invocation.
  std::thread hog([&] { d.invoke("busy", R"({"action":"sleep","ms":8000})"); });
  ASSERT_TRUE(eventually(
      [&] { return json::parse(d.client().Get("/runtimed/v1/health")->body)["busy"] == 1; },
      std::chrono::seconds(10)));
  auto event = invoke_async(d, "busy", R"({"late":true})");
  ASSERT_EQ(event->status, 202);
  const auto t0 = Clock::now();
  // Waiting for the slot, the event shows in the queue's depth and age.
  EXPECT_EQ(metric(d, R"(runtimed_async_queue_depth{function="busy",state="queued"})"), 1);
  EXPECT_GE(metric(d, R"(runtimed_async_oldest_event_age_seconds{function="busy"})"), 0);
  ASSERT_TRUE(eventually([&] { return depth(d, "too-old") == 1; }, std::chrono::seconds(6)));
  EXPECT_TRUE(eventually(
      [&] { return metric(d, R"(runtimed_async_expired_events_total{function="busy"})") == 1; },
      std::chrono::seconds(5)));
  EXPECT_EQ(
      metric(d,
             R"(runtimed_async_destination_sends_total{function="busy",destination="on_failure"})"),
      1);
  EXPECT_GE(std::chrono::duration<double>(Clock::now() - t0).count(), 1.5);
  const auto m = receive(d, "too-old");
  ASSERT_EQ(m.size(), 1u);
  const auto record = json::parse(m[0]["Body"].get<std::string>());
  EXPECT_EQ(record["requestContext"]["condition"], "EventAgeExceeded");
  EXPECT_EQ(record["requestContext"]["requestId"], header(event, "x-amzn-RequestId"));
  EXPECT_EQ(record["requestContext"]["approximateInvokeCount"], 0);
  EXPECT_EQ(record["requestPayload"], (json{{"late", true}}));
  hog.join();
  EXPECT_EQ(count(d.function_log("busy"), "START RequestId:"), 1u);
  // Below the lowered minimum is still refused.
  auto low = put_json(d, "/2019-09-25/functions/busy/event-invoke-config",
                      {{"MaximumEventAgeInSeconds", 0}});
  EXPECT_EQ(low->status, 400);
}

// A response that is not UTF-8 still reaches the destination (replacement characters), and the
// event is settled.
TEST_F(DaemonAsyncTest, ResponseThatIsNotUtf8StillReachesTheDestination) {
  start();
  auto& d = *daemon_;
  ASSERT_EQ(d.create_function("rawdest"), 201);
  auto put =
      put_json(d, "/2019-09-25/functions/rawdest/event-invoke-config",
               {{"DestinationConfig", {{"OnSuccess", {{"Destination", sqs_arn("raw-q")}}}}}});
  ASSERT_EQ(put->status, 200) << put->body;
  auto sent = invoke_async(d, "rawdest", R"({"action":"raw"})");
  ASSERT_EQ(sent->status, 202);
  ASSERT_TRUE(eventually([&] { return depth(d, "raw-q") == 1; }, std::chrono::seconds(20)))
      << d.daemon_log();
  const auto record = json::parse(receive(d, "raw-q")[0]["Body"].get<std::string>());
  EXPECT_EQ(record["requestContext"]["condition"], "Success");
  EXPECT_EQ(record["responsePayload"], "\uFFFD\uFFFD not UTF-8");
}

TEST_F(DaemonAsyncTest, DestinationsReceiveLambdaRecordsInQueuesAndFunctions) {
  start();
  auto& d = *daemon_;
  ASSERT_EQ(d.create_function("dest"), 201);
  ASSERT_EQ(d.create_function("sink"), 201);
  auto put = put_json(d, "/2019-09-25/functions/dest/event-invoke-config",
                      {{"MaximumRetryAttempts", 0},
                       {"DestinationConfig",
                        {{"OnSuccess", {{"Destination", sqs_arn("ok-q")}}},
                         {"OnFailure", {{"Destination", sqs_arn("fail-q")}}}}}});
  ASSERT_EQ(put->status, 200) << put->body;
  const auto shape = json::parse(put->body);
  EXPECT_EQ(shape["FunctionArn"], fn_arn("dest") + ":$LATEST");
  EXPECT_EQ(shape["MaximumRetryAttempts"], 0);
  EXPECT_EQ(shape["MaximumEventAgeInSeconds"], 21600);
  EXPECT_TRUE(shape["LastModified"].is_number_float());
  EXPECT_EQ(shape["DestinationConfig"]["OnFailure"]["Destination"], sqs_arn("fail-q"));

  auto ok = invoke_async(d, "dest", R"({"k":"v"})");
  auto bad = invoke_async(d, "dest", R"({"action":"error"})");
  ASSERT_TRUE(eventually([&] { return depth(d, "ok-q") == 1 && depth(d, "fail-q") == 1; },
                         std::chrono::seconds(20)));
  const auto success = json::parse(receive(d, "ok-q")[0]["Body"].get<std::string>());
  EXPECT_EQ(success["version"], "1.0");
  EXPECT_EQ(success["requestContext"]["condition"], "Success");
  EXPECT_EQ(success["requestContext"]["requestId"], header(ok, "x-amzn-RequestId"));
  EXPECT_EQ(success["requestContext"]["functionArn"], fn_arn("dest") + ":$LATEST");
  EXPECT_EQ(success["requestContext"]["approximateInvokeCount"], 1);
  EXPECT_EQ(success["requestPayload"], (json{{"k", "v"}}));
  EXPECT_EQ(success["responsePayload"], (json{{"k", "v"}}));
  EXPECT_EQ(success["responseContext"]["statusCode"], 200);
  EXPECT_FALSE(success["responseContext"].contains("functionError"));
  const auto failure = json::parse(receive(d, "fail-q")[0]["Body"].get<std::string>());
  EXPECT_EQ(failure["requestContext"]["condition"], "RetriesExhausted");
  EXPECT_EQ(failure["requestContext"]["approximateInvokeCount"], 1);
  EXPECT_EQ(failure["responseContext"]["functionError"], "Unhandled");
  EXPECT_EQ(failure["responsePayload"]["errorMessage"], "boom");

  // On success to another function: it gets the record as its own async event.
  auto update = d.client().Post(
      "/2019-09-25/functions/dest/event-invoke-config",
      json{{"DestinationConfig", {{"OnSuccess", {{"Destination", fn_arn("sink")}}}}}}.dump(),
      "application/json");
  ASSERT_EQ(update->status, 200) << update->body;
  EXPECT_EQ(json::parse(update->body)["MaximumRetryAttempts"], 0) << "Update keeps the rest";
  ASSERT_EQ(put_json(d, "/2019-09-25/functions/sink/event-invoke-config",
                     {{"DestinationConfig", {{"OnSuccess", {{"Destination", sqs_arn("sink-q")}}}}}})
                ->status,
            200);
  auto chained = invoke_async(d, "dest", R"({"chain":1})");
  ASSERT_TRUE(eventually([&] { return depth(d, "sink-q") == 1; }, std::chrono::seconds(20)));
  const auto sink = json::parse(receive(d, "sink-q")[0]["Body"].get<std::string>());
  EXPECT_EQ(sink["requestContext"]["functionArn"], fn_arn("sink") + ":$LATEST");
  EXPECT_EQ(sink["requestPayload"]["requestContext"]["requestId"],
            header(chained, "x-amzn-RequestId"));
  EXPECT_EQ(sink["requestPayload"]["responsePayload"], (json{{"chain", 1}}));

  EXPECT_EQ(d.client().Delete("/2019-09-25/functions/dest/event-invoke-config")->status, 204);
  EXPECT_EQ(d.client().Get("/2019-09-25/functions/dest/event-invoke-config")->status, 404);
  auto bad_arn = put_json(
      d, "/2019-09-25/functions/dest/event-invoke-config",
      {{"DestinationConfig", {{"OnFailure", {{"Destination", "arn:aws:sns:us-east-1:1:t"}}}}}});
  EXPECT_EQ(bad_arn->status, 400);
}

TEST_F(DaemonAsyncTest, FailedEventWithNowhereToGoIsDroppedAndLogged) {
  start({"--async-retry-delays", "0"});
  auto& d = *daemon_;
  ASSERT_EQ(d.create_function("lonely"), 201);
  ASSERT_EQ(
      put_json(d, "/2019-09-25/functions/lonely/event-invoke-config", {{"MaximumRetryAttempts", 1}})
          ->status,
      200);
  auto r = invoke_async(d, "lonely", R"({"action":"crash"})");
  const std::string rid = header(r, "x-amzn-RequestId");
  ASSERT_TRUE(eventually(
      [&] {
        return d.function_log("lonely").find("dropped asynchronous event RequestId: " + rid) !=
               std::string::npos;
      },
      std::chrono::seconds(20)));
  EXPECT_EQ(count(d.function_log("lonely"), "START RequestId: " + rid), 2u);
}

// SIGKILL with events queued, in flight and waiting for a retry; after a restart on the same
// state every event runs or reaches its failure target, with its attempts counted.
TEST(DaemonAsyncCrashTest, NoEventIsLostWhenTheDaemonIsKilledMidBacklog) {
  testsupport::TempDir state("rt-async-crash");
  const std::string cgroup = "rt-dtest-" + common::random_hex(8);
  const std::vector<std::string> args = {"--async-retry-delays", "3,3"};
  constexpr int kWork = 1000, kFailing = 10;
  auto first = std::make_unique<DaemonProcess>(args, state.path(), cgroup);
  ASSERT_EQ(first->create_function("work"), 201);
  ASSERT_EQ(put_json(*first, "/2017-10-31/functions/work/concurrency",
                     {{"ReservedConcurrentExecutions", 4}})
                ->status,
            200);
  ASSERT_EQ(put_json(*first, "/2019-09-25/functions/work/event-invoke-config",
                     {{"DestinationConfig",
                       {{"OnSuccess", {{"Destination", sqs_arn("done")}}},
                        {"OnFailure", {{"Destination", sqs_arn("failed")}}}}}})
                ->status,
            200);
  std::atomic<int> accepted{0};
  std::vector<std::thread> senders;
  for (int t = 0; t < 4; ++t) {
    senders.emplace_back([&, t] {
      for (int i = t; i < kWork + kFailing; i += 4) {
        const std::string payload = i < kWork
                                        ? json{{"action", "sleep"}, {"ms", 20}, {"seq", i}}.dump()
                                        : json{{"action", "error"}, {"seq", i}}.dump();
        auto r = invoke_async(*first, "work", payload);
        if (r && r->status == 202) ++accepted;
      }
    });
  }
  for (auto& s : senders) s.join();
  ASSERT_EQ(accepted, kWork + kFailing);
  // Kill while the backlog is being worked through and the failing events wait for a retry.
  ASSERT_TRUE(eventually([&] { return depth(*first, "done") >= 50; }, std::chrono::seconds(60)));
  auto before = json::parse(first->client().Get("/runtimed/v1/functions/work/async")->body);
  first->stop(SIGKILL);
  EXPECT_GT(before["Queued"].get<int>(), 0) << before.dump();

  DaemonProcess second(args, state.path(), cgroup);
  ASSERT_TRUE(eventually(
      [&] { return depth(second, "done") + depth(second, "failed") >= kWork + kFailing; },
      std::chrono::seconds(150)))
      << "done " << depth(second, "done") << ", failed " << depth(second, "failed");
  std::set<int> done, failed;
  for (const auto& m : receive(second, "done")) {
    const auto record = json::parse(m["Body"].get<std::string>());
    done.insert(record["requestPayload"]["seq"].get<int>());
  }
  for (const auto& m : receive(second, "failed")) {
    const auto record = json::parse(m["Body"].get<std::string>());
    failed.insert(record["requestPayload"]["seq"].get<int>());
    EXPECT_GE(record["requestContext"]["approximateInvokeCount"].get<int>(), 3) << record.dump();
    EXPECT_EQ(record["requestContext"]["condition"], "RetriesExhausted");
  }
  EXPECT_EQ(done.size(), static_cast<size_t>(kWork));
  EXPECT_EQ(failed.size(), static_cast<size_t>(kFailing));
  if (!done.empty()) {
    EXPECT_EQ(*done.rbegin(), kWork - 1);
  }
  const auto after = json::parse(second.client().Get("/runtimed/v1/functions/work/async")->body);
  EXPECT_EQ(after["Queued"], 0);
  EXPECT_EQ(after["InFlight"], 0);
  const int status = second.stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

}  // namespace
