// Schedules against the real daemon (serve --schedule-second-rates, so a test waits seconds, not
// minutes): a rate schedule invokes its function asynchronously with EventBridge's scheduled
// event (seen through an OnSuccess destination queue), DISABLED stops it, DELETE removes it, and
// after downtime a missed tick fires once, not once per tick missed; and rate(1 minute) ticks a
// minute apart on a clock compressed by serve --schedule-time-scale.
#include <gtest/gtest.h>

#include <algorithm>
#include <ctime>
#include <thread>

#include "tests/integration/daemon_test.hpp"

namespace {

using nlohmann::json;
using testsupport::DaemonProcess;

constexpr const char* kArn = "arn:aws:lambda:us-east-1:000000000000:function:";

// Requests of the function whose destination records reached queue `q` so far (each message is
// taken off the queue).
std::vector<json> drain_records(DaemonProcess& daemon, const std::string& q) {
  std::vector<json> out;
  auto r = daemon.client().Post("/runtimed/v1/queues/" + q + "/receive?max=100", "", "text/plain");
  if (!r || r->status != 200) return out;
  const json body = json::parse(r->body);
  for (const auto& m : body["Messages"]) {
    out.push_back(json::parse(m["Body"].get<std::string>())["requestPayload"]);
    daemon.client().Delete("/runtimed/v1/queues/" + q + "/messages/" +
                           m["ReceiptHandle"].get<std::string>());
  }
  return out;
}

int put_schedule(DaemonProcess& daemon, const std::string& name, const json& body,
                 json* answer = nullptr) {
  auto r = daemon.client().Put("/runtimed/v1/schedules/" + name, body.dump(), "application/json");
  if (!r) return -1;
  if (answer) *answer = json::parse(r->body, nullptr, false);
  return r->status;
}

void create_ticking_function(DaemonProcess& daemon, const std::string& fn, const std::string& q) {
  ASSERT_EQ(daemon.create_function(fn), 201);
  auto r = daemon.client().Put(
      "/2019-09-25/functions/" + fn + "/event-invoke-config",
      json{{"DestinationConfig",
            {{"OnSuccess", {{"Destination", "arn:aws:sqs:us-east-1:000000000000:" + q}}}}}}
          .dump(),
      "application/json");
  ASSERT_TRUE(r && r->status == 200) << (r ? r->body : "no answer");
}

TEST(DaemonScheduleTest, ARateScheduleInvokesWithTheScheduledEventUntilDisabledOrDeleted) {
  DaemonProcess daemon({"--schedule-second-rates"});
  create_ticking_function(daemon, "tick", "ticks");
  // Validation, in the API's words.
  EXPECT_EQ(put_schedule(daemon, "bad",
                         {{"ScheduleExpression", "rate(5 weeks)"},
                          {"Target", {{"Arn", std::string(kArn) + "tick"}}}}),
            400);
  EXPECT_EQ(put_schedule(daemon, "bad",
                         {{"ScheduleExpression", "cron(0 9 * * ? *)"},
                          {"ScheduleExpressionTimezone", "Mars/Base"},
                          {"Target", {{"Arn", std::string(kArn) + "tick"}}}}),
            400);
  EXPECT_EQ(put_schedule(daemon, "bad",
                         {{"ScheduleExpression", "rate(1 minute)"},
                          {"Target", {{"Arn", std::string(kArn) + "nope"}}}}),
            404);

  json made;
  ASSERT_EQ(put_schedule(daemon, "every-second",
                         {{"ScheduleExpression", "rate(1 second)"},
                          {"Target", {{"Arn", std::string(kArn) + "tick"}}}},
                         &made),
            200)
      << made;
  EXPECT_EQ(made["Arn"], "arn:aws:scheduler:us-east-1:000000000000:schedule/default/every-second");
  EXPECT_EQ(made["State"], "ENABLED");
  std::vector<json> events;
  for (int i = 0; i < 100 && events.size() < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto more = drain_records(daemon, "ticks");
    events.insert(events.end(), more.begin(), more.end());
  }
  ASSERT_GE(events.size(), 3u) << daemon.daemon_log();
  EXPECT_EQ(events[0]["detail-type"], "Scheduled Event");
  EXPECT_EQ(events[0]["source"], "aws.events");
  EXPECT_EQ(events[0]["account"], "000000000000");
  EXPECT_EQ(events[0]["resources"][0], made["Arn"]);
  EXPECT_NE(events[0]["id"], events[1]["id"]);

  // DISABLED: no more ticks (one already enqueued may still land).
  ASSERT_EQ(
      put_schedule(daemon, "every-second",
                   {{"ScheduleExpression", "rate(1 second)"},
                    {"State", "DISABLED"},
                    {"Target", {{"Arn", std::string(kArn) + "tick"}, {"Input", "{\"n\":1}"}}}}),
      200);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  drain_records(daemon, "ticks");
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_EQ(drain_records(daemon, "ticks").size(), 0u);

  auto listed = daemon.client().Get("/runtimed/v1/schedules");
  ASSERT_TRUE(listed);
  EXPECT_EQ(json::parse(listed->body)["Schedules"].size(), 1u);
  EXPECT_EQ(daemon.client().Delete("/runtimed/v1/schedules/every-second")->status, 204);
  EXPECT_EQ(daemon.client().Get("/runtimed/v1/schedules/every-second")->status, 404);

  // The CLI: a cron in a time zone, its next invocation computed by the daemon.
  const std::string bin = testsupport::bin_path("runtimed").string();
  const std::string endpoint = "http://127.0.0.1:" + std::to_string(daemon.port());
  auto put = testsupport::run_command({bin, "schedule", "put", "noon-paris", "--expression",
                                       "cron(0 12 * * ? *)", "--function", "tick", "--timezone",
                                       "Europe/Paris", "--endpoint", endpoint});
  ASSERT_EQ(put.status, 0) << put;
  const json shown = json::parse(put.out);
  EXPECT_EQ(shown["ScheduleExpressionTimezone"], "Europe/Paris");
  // Noon in Paris is 11:00 or 10:00 UTC.
  const std::string next = shown.value("NextInvocation", "");
  EXPECT_TRUE(next.find("T11:00:00Z") != std::string::npos ||
              next.find("T10:00:00Z") != std::string::npos)
      << next;
  auto list = testsupport::run_command({bin, "schedule", "list", "--endpoint", endpoint});
  EXPECT_NE(list.out.find("noon-paris"), std::string::npos) << list;
  EXPECT_EQ(
      testsupport::run_command({bin, "schedule", "delete", "noon-paris", "--endpoint", endpoint})
          .status,
      0);
  auto gone =
      testsupport::run_command({bin, "schedule", "get", "noon-paris", "--endpoint", endpoint});
  EXPECT_EQ(gone.status, 2) << gone;
  testsupport::expect_clean_stop(daemon);
}

TEST(DaemonScheduleTest, AMissedTickFiresOnceAfterDowntime) {
  testsupport::TempDir state("rt-schedule-state");
  const std::string cgroup = "rt-schedule-" + common::random_hex(6);
  {
    DaemonProcess daemon({"--schedule-second-rates"}, state.path(), cgroup);
    create_ticking_function(daemon, "tick", "ticks");
    ASSERT_EQ(
        put_schedule(daemon, "two-seconds",
                     {{"ScheduleExpression", "rate(2 seconds)"},
                      {"Target", {{"Arn", std::string(kArn) + "tick"}, {"Input", "{\"n\":7}"}}}}),
        200);
    // The first tick's record, then a stop before the second tick is due.
    size_t before = 0;
    for (int i = 0; i < 50 && before == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      before = drain_records(daemon, "ticks").size();
    }
    ASSERT_EQ(before, 1u) << daemon.daemon_log();
    testsupport::expect_clean_stop(daemon);
  }
  // Down for five ticks' time.
  std::this_thread::sleep_for(std::chrono::seconds(10));
  DaemonProcess daemon({"--schedule-second-rates"}, state.path(), cgroup);
  std::vector<json> events;
  for (int i = 0; i < 15; ++i) {  // 1.5 s: the missed tick, and no next one yet
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto more = drain_records(daemon, "ticks");
    events.insert(events.end(), more.begin(), more.end());
  }
  // The missed tick once (and perhaps the next regular one), not one per tick missed.
  EXPECT_GE(events.size(), 1u) << daemon.daemon_log();
  EXPECT_LE(events.size(), 2u) << daemon.daemon_log();
  for (const auto& e : events) EXPECT_EQ(e, (json{{"n", 7}}));
  testsupport::expect_clean_stop(daemon);
}

TEST(DaemonScheduleTest, ARateOfOneMinuteTicksEveryMinuteOnACompressedClock) {
  DaemonProcess daemon({"--schedule-time-scale", "60"});
  create_ticking_function(daemon, "minutely", "minutes");
  const auto made_at = std::chrono::steady_clock::now();
  json made;
  ASSERT_EQ(put_schedule(daemon, "every-minute",
                         {{"ScheduleExpression", "rate(1 minute)"},
                          {"Target", {{"Arn", std::string(kArn) + "minutely"}}}},
                         &made),
            200)
      << made;
  std::vector<json> events;
  std::chrono::steady_clock::duration first_after{};
  for (int i = 0; i < 150 && events.size() < 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto more = drain_records(daemon, "minutes");
    if (events.empty() && !more.empty()) first_after = std::chrono::steady_clock::now() - made_at;
    events.insert(events.end(), more.begin(), more.end());
  }
  ASSERT_GE(events.size(), 4u) << daemon.daemon_log();
  // The first tick is a (scaled) minute after the schedule was made: a second of wall time.
  EXPECT_GE(first_after, std::chrono::milliseconds(900));
  // Scheduled events' times are a minute apart, in the schedule's (scaled) time.
  std::vector<std::string> times;
  for (const auto& e : events) times.push_back(e["time"].get<std::string>());
  std::sort(times.begin(), times.end());
  auto seconds_of = [](const std::string& iso) {
    std::tm tm{};
    strptime(iso.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return static_cast<int64_t>(timegm(&tm));
  };
  for (size_t i = 1; i < times.size(); ++i)
    EXPECT_EQ(seconds_of(times[i]) - seconds_of(times[i - 1]), 60)
        << times[i - 1] << " " << times[i];
  // The scale is not a second-rate licence: EventBridge's syntax still holds.
  EXPECT_EQ(put_schedule(daemon, "too-fast",
                         {{"ScheduleExpression", "rate(1 second)"},
                          {"Target", {{"Arn", std::string(kArn) + "minutely"}}}}),
            400);
  testsupport::expect_clean_stop(daemon);
}

}  // namespace
