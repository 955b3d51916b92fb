// SQS event source mappings from local queues against the real daemon: driven by boto3
// (tests/integration/clients/boto3_event_source_mappings.py: explicit queues with a redrive
// policy, batches to a python consumer that reports item failures, Disabled, Delete), and here:
// a function error failing its whole batch, a mapping whose function was deleted, batching
// windows that never hold up another mapping, and a SIGKILL in the middle of a batch.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <map>
#include <set>

#include "tests/eventually.hpp"
#include "tests/integration/daemon_test.hpp"

namespace {

using nlohmann::json;
using testsupport::DaemonProcess;
using testsupport::eventually;
using Clock = std::chrono::steady_clock;

// The consumer every test maps: it prints "batch QUEUE N BODY,BODY,…" for each batch, fails the
// whole batch (a function error) when a body is "boom", waits SLEEP_MS, then prints "ok BODY" for
// each message it processed and reports those whose body starts with "fail" as item failures.
constexpr const char* kConsumer = R"(import os, time
def handler(event, context):
    records = event["Records"]
    bodies = [r["body"] for r in records]
    queue = records[0]["eventSourceARN"].rsplit(":", 1)[1] if records else "-"
    print("batch %s %d %s" % (queue, len(bodies), ",".join(bodies)), flush=True)
    if "boom" in bodies:
        raise RuntimeError("boom in the batch")
    time.sleep(int(os.environ.get("SLEEP_MS", "0")) / 1000)
    failures = []
    for r in records:
        if r["body"].startswith("fail"):
            failures.append({"itemIdentifier": r["messageId"]})
        else:
            print("ok " + r["body"], flush=True)
    return {"batchItemFailures": failures}
)";

std::string sqs_arn(const std::string& name) {
  return "arn:aws:sqs:us-east-1:000000000000:" + name;
}

int create_consumer(DaemonProcess& d, const std::string& name, int sleep_ms = 0) {
  return d.create_function(
      name,
      {{"Runtime", "python3.12"},
       {"Handler", "app.handler"},
       {"Environment", {{"Variables", {{"SLEEP_MS", std::to_string(sleep_ms)}}}}}},
      testsupport::zip_of({{"app.py", kConsumer}}));
}

httplib::Result put_json(const DaemonProcess& d, const std::string& path, const json& body) {
  return d.client().Put(path, body.dump(), "application/json");
}

// A queue with a visibility timeout and, when `dlq` is given, a redrive policy to it.
void make_queue(const DaemonProcess& d, const std::string& name, int visibility_s,
                const std::string& dlq = "", int max_receive = 2) {
  json body = {{"VisibilityTimeout", visibility_s}};
  if (!dlq.empty()) {
    ASSERT_EQ(put_json(d, "/runtimed/v1/queues/" + dlq, json::object())->status, 200);
    body["RedrivePolicy"] = {{"deadLetterTargetArn", sqs_arn(dlq)},
                             {"maxReceiveCount", max_receive}};
  }
  auto r = put_json(d, "/runtimed/v1/queues/" + name, body);
  ASSERT_EQ(r->status, 200) << r->body;
}

void send(const DaemonProcess& d, const std::string& queue, const std::string& body) {
  auto r = d.client().Post("/runtimed/v1/queues/" + queue + "/messages", body, "text/plain");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
}

// The mapping's UUID.
std::string create_mapping(const DaemonProcess& d, const std::string& queue,
                           const std::string& function, int batch_size, int window_s) {
  const json body = {{"EventSourceArn", sqs_arn(queue)},
                     {"FunctionName", function},
                     {"BatchSize", batch_size},
                     {"MaximumBatchingWindowInSeconds", window_s},
                     {"FunctionResponseTypes", {"ReportBatchItemFailures"}}};
  auto r = d.client().Post("/2015-03-31/event-source-mappings", body.dump(), "application/json");
  if (!r || r->status != 202) {
    ADD_FAILURE() << (r ? r->body : "no answer");
    return "";
  }
  return json::parse(r->body)["UUID"];
}

json get_mapping(const DaemonProcess& d, const std::string& uuid) {
  auto r = d.client().Get("/2015-03-31/event-source-mappings/" + uuid);
  if (!r || r->status != 200) return nullptr;
  return json::parse(r->body);
}

struct Depth {
  int64_t visible = -1;
  int64_t not_visible = -1;
  int64_t total() const { return visible + not_visible; }
};

Depth depth(const DaemonProcess& d, const std::string& queue) {
  auto r = d.client().Get("/runtimed/v1/queues");
  if (!r || r->status != 200) return {};
  const json body = json::parse(r->body);
  for (const auto& q : body["Queues"])
    if (q["Name"] == queue)
      return {q["ApproximateNumberOfMessages"], q["ApproximateNumberOfMessagesNotVisible"]};
  return {0, 0};
}

json receive(const DaemonProcess& d, const std::string& queue, int visibility_s) {
  auto r = d.client().Post("/runtimed/v1/queues/" + queue +
                               "/receive?max=1000&visibility=" + std::to_string(visibility_s),
                           "", "application/json");
  if (!r || r->status != 200) return json::array();
  return json::parse(r->body)["Messages"];
}

std::multiset<std::string> bodies(const json& messages) {
  std::multiset<std::string> out;
  for (const auto& m : messages) out.insert(m["Body"].get<std::string>());
  return out;
}

// The lines of `log` that start with `prefix`, each without it.
std::vector<std::string> lines_after(const std::string& log, const std::string& prefix) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < log.size()) {
    size_t end = log.find('\n', at);
    if (end == std::string::npos) end = log.size();
    const std::string_view line(log.data() + at, end - at);
    if (line.starts_with(prefix)) out.emplace_back(line.substr(prefix.size()));
    at = end + 1;
  }
  return out;
}

std::map<std::string, int> count_each(const std::vector<std::string>& items) {
  std::map<std::string, int> out;
  for (const auto& i : items) ++out[i];
  return out;
}

class DaemonEventSourceTest : public testsupport::DaemonTest {
 protected:
  testsupport::TempDir scratch_{"rt-esm"};
};

TEST_F(DaemonEventSourceTest, Boto3MapsAQueueToAFunctionThatReportsItemFailures) {
  start();
  const auto run = testsupport::run_client_script(
      "boto3_event_source_mappings.py", {"http://127.0.0.1:" + std::to_string(daemon_->port())},
      scratch_.path());
  EXPECT_EQ(run.status, 0) << run << daemon_->daemon_log();
  EXPECT_NE(run.out.find("ok\n"), std::string::npos) << run;
}

// A function error fails the whole batch, ReportBatchItemFailures or not: every message of it,
// the good ones too, comes back after the visibility timeout, and the redrive policy then moves
// all of them to the DLQ. None is deleted for having been in a batch that failed.
TEST_F(DaemonEventSourceTest, AFunctionErrorKeepsEveryMessageOfTheBatchForARetry) {
  start();
  auto& d = *daemon_;
  ASSERT_EQ(create_consumer(d, "consumer"), 201);
  make_queue(d, "jobs", 1, "jobs-dlq", 2);
  for (const char* body : {"x1", "boom", "x2"}) send(d, "jobs", body);
  const std::string uuid = create_mapping(d, "jobs", "consumer", 10, 0);
  ASSERT_TRUE(
      eventually([&] { return depth(d, "jobs-dlq").visible == 3; }, std::chrono::seconds(30)))
      << d.function_log("consumer") << d.daemon_log();
  EXPECT_EQ(depth(d, "jobs").total(), 0);
  EXPECT_EQ(bodies(receive(d, "jobs-dlq", 60)), (std::multiset<std::string>{"x1", "boom", "x2"}));
  const std::string log = d.function_log("consumer");
  // Two attempts (maxReceiveCount 2), each the whole batch, and no message processed.
  EXPECT_EQ(lines_after(log, "batch jobs "), (std::vector<std::string>(2, "3 x1,boom,x2"))) << log;
  EXPECT_TRUE(lines_after(log, "ok ").empty()) << log;
  EXPECT_EQ(get_mapping(d, uuid)["LastProcessingResult"], "PROBLEM: Function call failed");
}

// As on Lambda, deleting a function keeps its mappings, and a mapping whose function is gone
// consumes nothing: no receive (the receive count stays 0), nothing pushed to the DLQ. Its
// LastProcessingResult says why; the function made again consumes what waited.
TEST_F(DaemonEventSourceTest, AMappingWhoseFunctionIsDeletedLeavesItsMessagesAlone) {
  start();
  auto& d = *daemon_;
  ASSERT_EQ(create_consumer(d, "consumer"), 201);
  // Without the check, three failed receives 1 s apart would move each message to the DLQ.
  make_queue(d, "jobs", 1, "jobs-dlq", 2);
  const std::string uuid = create_mapping(d, "jobs", "consumer", 10, 0);
  EXPECT_EQ(get_mapping(d, uuid)["LastProcessingResult"], "No records processed");
  send(d, "jobs", "first");
  ASSERT_TRUE(eventually([&] { return depth(d, "jobs").total() == 0; }, std::chrono::seconds(20)));
  EXPECT_TRUE(eventually([&] { return get_mapping(d, uuid)["LastProcessingResult"] == "OK"; },
                         std::chrono::seconds(5)))
      << get_mapping(d, uuid).dump();

  ASSERT_EQ(d.client().Delete("/2015-03-31/functions/consumer")->status, 204);
  for (const char* body : {"o1", "o2", "o3"}) send(d, "jobs", body);
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));  // 3 idle looks, 3 visibilities
  const Depth jobs = depth(d, "jobs");
  EXPECT_EQ(jobs.visible, 3);
  EXPECT_EQ(jobs.not_visible, 0);
  EXPECT_EQ(depth(d, "jobs-dlq").total(), 0);
  const json mapping = get_mapping(d, uuid);
  EXPECT_EQ(mapping["State"], "Enabled") << mapping.dump();
  EXPECT_EQ(mapping["FunctionArn"], "arn:aws:lambda:us-east-1:000000000000:function:consumer");
  EXPECT_EQ(mapping["LastProcessingResult"], "PROBLEM: Function not found") << mapping.dump();
  // This look (visible again at once) is each message's first receive.
  const json looked = receive(d, "jobs", 0);
  ASSERT_EQ(looked.size(), 3u) << looked.dump();
  for (const auto& m : looked) EXPECT_EQ(m["Attributes"]["ApproximateReceiveCount"], "1");

  ASSERT_EQ(create_consumer(d, "consumer"), 201);
  ASSERT_TRUE(eventually([&] { return depth(d, "jobs").total() == 0; }, std::chrono::seconds(20)))
      << d.daemon_log();
  EXPECT_EQ(depth(d, "jobs-dlq").total(), 0);
  auto ran = count_each(lines_after(d.function_log("consumer"), "ok "));
  ran.erase("first");  // the log of the function as it was, if kept
  EXPECT_EQ(ran, (std::map<std::string, int>{{"o1", 1}, {"o2", 1}, {"o3", 1}}));
  EXPECT_TRUE(eventually([&] { return get_mapping(d, uuid)["LastProcessingResult"] == "OK"; },
                         std::chrono::seconds(5)));
}

// One mapping gathering a batch in a 30 s window holds up no other: a message to a mapping
// without a window is consumed at once meanwhile. The window does gather: what is sent within it
// arrives in one invocation, sent as soon as the batch is full, or when a window closes.
TEST_F(DaemonEventSourceTest, ABatchingWindowGathersOneBatchWithoutHoldingUpOtherMappings) {
  start();
  auto& d = *daemon_;
  ASSERT_EQ(create_consumer(d, "consumer"), 201);
  // A warm environment, so that "at once" below measures the poller, not a cold start.
  ASSERT_EQ(d.invoke("consumer", R"({"Records":[]})")->status, 200);
  make_queue(d, "slow", 120);
  make_queue(d, "fast", 120);
  const std::string slow = create_mapping(d, "slow", "consumer", 10, 30);
  create_mapping(d, "fast", "consumer", 10, 0);

  const auto opened = Clock::now();
  send(d, "slow", "s0");
  // Received into the batch being gathered: the window is open.
  ASSERT_TRUE(
      eventually([&] { return depth(d, "slow").not_visible == 1; }, std::chrono::seconds(5)));
  const auto sent = Clock::now();
  send(d, "fast", "f0");
  ASSERT_TRUE(eventually([&] { return depth(d, "fast").total() == 0; }, std::chrono::seconds(40)));
  const auto took = Clock::now() - sent;
  EXPECT_LT(took, std::chrono::seconds(1)) << std::chrono::duration<double>(took).count()
                                           << " s while another mapping's window was open";
  EXPECT_TRUE(lines_after(d.function_log("consumer"), "batch slow ").empty())
      << "the slow batch went before its window closed";

  // Nine more fill the batch: one invocation of ten, long before the window would close.
  for (int i = 1; i <= 9; ++i) send(d, "slow", "s" + std::to_string(i));
  ASSERT_TRUE(eventually([&] { return depth(d, "slow").total() == 0; }, std::chrono::seconds(40)));
  EXPECT_LT(Clock::now() - opened, std::chrono::seconds(20)) << "a full batch waits no longer";
  EXPECT_EQ(lines_after(d.function_log("consumer"), "batch slow "),
            (std::vector<std::string>{"10 s0,s1,s2,s3,s4,s5,s6,s7,s8,s9"}))
      << d.function_log("consumer");

  // A 2 s window: three messages sent within it arrive together when it closes.
  ASSERT_EQ(put_json(d, "/2015-03-31/event-source-mappings/" + slow,
                     {{"MaximumBatchingWindowInSeconds", 2}})
                ->status,
            202);
  const auto second = Clock::now();
  for (const char* body : {"t1", "t2", "t3"}) {
    send(d, "slow", body);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  ASSERT_TRUE(eventually([&] { return depth(d, "slow").total() == 0; }, std::chrono::seconds(20)));
  EXPECT_GE(Clock::now() - second, std::chrono::milliseconds(1900)) << "the window was kept";
  EXPECT_EQ(lines_after(d.function_log("consumer"), "batch slow "),
            (std::vector<std::string>{"10 s0,s1,s2,s3,s4,s5,s6,s7,s8,s9", "3 t1,t2,t3"}))
      << d.function_log("consumer");
}

// Messages left in a queue's table, read from the state database of a killed daemon: body →
// receive count.
std::map<std::string, int64_t> messages_in(const std::filesystem::path& state_dir,
                                           const std::string& queue) {
  std::map<std::string, int64_t> out;
  sqlite3* db = nullptr;
  const auto path = state_dir / "runtimed.db";
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "open " << path << ": " << sqlite3_errmsg(db);
    sqlite3_close(db);
    return out;
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT body, receive_count FROM queue_messages WHERE queue = ?1", -1,
                         &stmt, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << sqlite3_errmsg(db);
  } else {
    sqlite3_bind_text(stmt, 1, queue.c_str(), -1, SQLITE_TRANSIENT);
    while (sqlite3_step(stmt) == SQLITE_ROW)
      out[reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0))] =
          sqlite3_column_int64(stmt, 1);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

// SIGKILL while batches are in flight; after a restart on the same state every message reaches
// exactly one outcome: processed and deleted, or (the failing ones) in the DLQ after their
// retries. None is lost. SQS is at-least-once: a message received but not yet deleted at the kill
// runs again after its visibility timeout; one deleted before the kill never runs again.
TEST(DaemonEventSourceCrashTest, NoMessageIsLostWhenTheDaemonIsKilledMidBatch) {
  testsupport::TempDir state("rt-esm-crash");
  const std::string cgroup = "rt-dtest-" + common::random_hex(8);
  constexpr int kMessages = 50;  // every tenth fails: "fail-9", "fail-19", …
  std::set<std::string> good, failing;
  for (int i = 0; i < kMessages; ++i)
    (i % 10 == 9 ? failing : good).insert((i % 10 == 9 ? "fail-" : "ok-") + std::to_string(i));

  auto first = std::make_unique<DaemonProcess>(std::vector<std::string>{}, state.path(), cgroup);
  ASSERT_EQ(create_consumer(*first, "work", 400), 201);
  make_queue(*first, "work", 5, "work-dlq", 2);
  for (int i = 0; i < kMessages; ++i)
    send(*first, "work", (i % 10 == 9 ? "fail-" : "ok-") + std::to_string(i));
  create_mapping(*first, "work", "work", 5, 0);
  // Kill once some batches have settled and the next ones (400 ms each) have started.
  ASSERT_TRUE(
      eventually([&] { return lines_after(first->function_log("work"), "ok ").size() >= 10; },
                 std::chrono::seconds(60)))
      << first->function_log("work") << first->daemon_log();
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  first->stop(SIGKILL);
  const std::string log_before = first->function_log("work");
  const auto left = messages_in(state.path(), "work");
  std::set<std::string> in_flight;  // received and not deleted when the daemon died
  for (const auto& [body, receives] : left)
    if (receives > 0 && good.contains(body)) in_flight.insert(body);
  EXPECT_FALSE(in_flight.empty()) << "no batch was in flight at the kill";
  EXPECT_LT(left.size(), static_cast<size_t>(kMessages)) << "nothing was settled before the kill";

  DaemonProcess second({}, state.path(), cgroup);
  ASSERT_TRUE(eventually(
      [&] {
        return depth(second, "work").total() == 0 &&
               depth(second, "work-dlq").visible == static_cast<int64_t>(failing.size());
      },
      std::chrono::seconds(120)))
      << "work " << depth(second, "work").total() << ", DLQ " << depth(second, "work-dlq").total()
      << "\n"
      << second.function_log("work");
  // The failing ones, each once, in the DLQ; nothing else there.
  const auto dead = bodies(receive(second, "work-dlq", 60));
  EXPECT_EQ(dead, std::multiset<std::string>(failing.begin(), failing.end()));

  const std::string log_after = second.function_log("work").substr(log_before.size());
  const auto ran_before = count_each(lines_after(log_before, "ok "));
  const auto ran_after = count_each(lines_after(log_after, "ok "));
  for (const auto& body : good) {
    const int before = ran_before.contains(body) ? ran_before.at(body) : 0;
    const int after = ran_after.contains(body) ? ran_after.at(body) : 0;
    if (!left.contains(body)) {
      // Deleted before the kill: it had run, and it does not run again.
      EXPECT_GE(before, 1) << body << " was deleted without running";
      EXPECT_EQ(after, 0) << body << " was settled before the kill and ran again";
    } else {
      // Still in the queue at the kill (in flight or not yet received): deleted now, so it ran
      // after the restart, once; one in flight may also have run before the kill.
      EXPECT_EQ(after, 1) << body;
      EXPECT_LE(before, in_flight.contains(body) ? 1 : 0) << body;
    }
  }
  for (const auto& body : failing)
    EXPECT_FALSE(ran_before.contains(body) || ran_after.contains(body));
  testsupport::expect_clean_stop(second);
}

}  // namespace
