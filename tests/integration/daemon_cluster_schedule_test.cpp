// Cluster mode's schedules, on a PostgreSQL of the test's own: the schedule lease on the real
// lease code (taken in the database's time, under a live token only, taken over once it ran
// out), and three real `runtimed serve --cluster` nodes sharing one rate(1 second) schedule: each
// tick fires once cluster-wide, the lease holder SIGKILLed hands the firing over within a lease
// and a second (SIGTERMed, at once), a delete through another node stops it, and a stopped
// database answers the routes with ServiceException without stopping the daemon.
#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include "runtimed/cluster/membership_store.hpp"
#include "runtimed/cluster/pg_state_backend.hpp"
#include "runtimed/store/cluster_lease.hpp"
#include "tests/eventually.hpp"
#include "tests/integration/daemon_process.hpp"
#include "tests/integration/postgres_server.hpp"

namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using runtimed::StateDb;
using testsupport::DaemonProcess;
using testsupport::eventually;

constexpr const char* kArn = "arn:aws:lambda:us-east-1:000000000000:function:";

cluster::PgConnection connect(const testsupport::PostgresServer& pg) {
  auto c = cluster::PgConnection::connect(pg.url(), 2s, 5000ms);
  if (!c) throw std::runtime_error(c.error().message);
  return std::move(*c);
}

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TEST(ClusterLeaseTest, OneLiveTokenHoldsTheLeaseUntilItRunsOut) {
  testsupport::PostgresServer pg;
  StateDb db(
      std::make_unique<cluster::PgStateBackend>(cluster::PgStateOptions{.database_url = pg.url()}));
  ASSERT_TRUE(db.exec("SELECT 1"));  // connects and migrates
  auto membership = connect(pg);
  auto a = cluster::register_node(membership, "a", "http://127.0.0.1:1", 60s);
  auto b = cluster::register_node(membership, "b", "http://127.0.0.1:2", 60s);
  ASSERT_TRUE(a && b);

  EXPECT_EQ(runtimed::hold_cluster_lease(db, "scheduler", *a, 400ms), true);
  EXPECT_EQ(runtimed::hold_cluster_lease(db, "scheduler", *b, 400ms), false);  // a holds it
  EXPECT_EQ(runtimed::hold_cluster_lease(db, "scheduler", *a, 400ms), true);   // renewed
  EXPECT_EQ(runtimed::cluster_lease_holder(db, "scheduler"), *a);
  // Another duty is another lease.
  EXPECT_EQ(runtimed::hold_cluster_lease(db, "other", *b, 60s), true);
  // a stops renewing: once its lease ran out, b takes it over.
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(runtimed::cluster_lease_holder(db, "scheduler"), 0);
  EXPECT_EQ(runtimed::hold_cluster_lease(db, "scheduler", *b, 60s), true);
  EXPECT_EQ(runtimed::hold_cluster_lease(db, "scheduler", *a, 60s), false);
  // Released, it is free at once.
  EXPECT_TRUE(runtimed::release_cluster_lease(db, "scheduler", *a));  // not a's: no effect
  EXPECT_EQ(runtimed::cluster_lease_holder(db, "scheduler"), *b);
  EXPECT_TRUE(runtimed::release_cluster_lease(db, "scheduler", *b));
  EXPECT_EQ(runtimed::cluster_lease_holder(db, "scheduler"), 0);

  // A token whose node lease is not live (expired, or left) takes nothing, even a free lease.
  auto c = cluster::register_node(membership, "c", "http://127.0.0.1:3", 200ms);
  ASSERT_TRUE(c);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(runtimed::hold_cluster_lease(db, "scheduler", *c, 60s), false);
  ASSERT_EQ(cluster::leave(membership, "a", *a), true);
  EXPECT_EQ(runtimed::hold_cluster_lease(db, "scheduler", *a, 60s), false);
  EXPECT_EQ(runtimed::cluster_lease_holder(db, "scheduler"), 0);
}

std::vector<std::string> node_args(const testsupport::PostgresServer& pg, const std::string& id,
                                   const std::string& lease_s = "2") {
  return {"--cluster", pg.url(), "--cluster-lease-seconds", lease_s,
          "--node-id", id,       "--schedule-second-rates"};
}

// A tick as its destination record shows it: the scheduled event's `time` (whole seconds).
struct Tick {
  int64_t time_s = 0;
  std::string id;
};

int64_t epoch_seconds(const std::string& iso) {
  std::tm tm{};
  if (!strptime(iso.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm)) return -1;
  return static_cast<int64_t>(timegm(&tm));
}

// The ticks whose records reached queue `q` since the last call (each message taken off).
std::vector<Tick> drain_ticks(const DaemonProcess& d, const std::string& q) {
  std::vector<Tick> out;
  while (true) {
    auto r = d.client().Post("/runtimed/v1/queues/" + q + "/receive?max=100&visibility=600", "",
                             "application/json");
    if (!r || r->status != 200) return out;
    const json messages = json::parse(r->body)["Messages"];
    if (messages.empty()) return out;
    for (const auto& m : messages) {
      const json event = json::parse(m["Body"].get<std::string>())["requestPayload"];
      out.push_back({epoch_seconds(event.value("time", "")), event.value("id", "")});
      d.client().Delete("/runtimed/v1/queues/" + q + "/messages/" +
                        m["ReceiptHandle"].get<std::string>());
    }
  }
}

// The node holding the schedule lease now, as the database says ("" for none).
std::string lease_holder(cluster::PgConnection& db) {
  auto r = db.exec(
      "SELECT n.node_id FROM cluster_leases l JOIN cluster_nodes n ON n.fencing_token = "
      "l.fencing_token WHERE l.name = 'scheduler' AND l.expires_at > now()");
  if (!r || r->rows() == 0) return "";
  return std::string(r->text(0, 0));
}

int64_t last_fire_ms(cluster::PgConnection& db, const std::string& schedule) {
  auto r = db.exec("SELECT last_fire_ms FROM schedules WHERE name = $1", {schedule});
  if (!r || r->rows() == 0) return -1;
  return r->integer(0, 0);
}

TEST(DaemonClusterScheduleTest, ATickFiresOnceClusterWideAcrossAHandoverUntilDeleted) {
  testsupport::PostgresServer pg;
  std::map<std::string, std::unique_ptr<DaemonProcess>> nodes;
  for (const char* id : {"n1", "n2", "n3"})
    nodes[id] = std::make_unique<DaemonProcess>(node_args(pg, id));
  DaemonProcess& n1 = *nodes["n1"];
  ASSERT_EQ(n1.create_function("tick"), 201);
  auto config = n1.client().Put(
      "/2019-09-25/functions/tick/event-invoke-config",
      json{{"DestinationConfig",
            {{"OnSuccess", {{"Destination", "arn:aws:sqs:us-east-1:000000000000:ticks"}}}}}}
          .dump(),
      "application/json");
  ASSERT_EQ(config->status, 200) << config->body;
  auto db = connect(pg);
  // Some node holds the lease from its start on, schedules or not.
  ASSERT_TRUE(eventually([&] { return !lease_holder(db).empty(); }, 10s, 50ms));

  auto put = n1.client().Put("/runtimed/v1/schedules/every-second",
                             json{{"ScheduleExpression", "rate(1 second)"},
                                  {"Target", {{"Arn", std::string(kArn) + "tick"}}}}
                                 .dump(),
                             "application/json");
  ASSERT_EQ(put->status, 200) << put->body;
  // Every node's routes read the shared table.
  for (const char* id : {"n2", "n3"}) {
    auto got = nodes[id]->client().Get("/runtimed/v1/schedules/every-second");
    ASSERT_EQ(got->status, 200) << id << ": " << got->body;
    EXPECT_EQ(json::parse(got->body)["Arn"],
              "arn:aws:scheduler:us-east-1:000000000000:schedule/default/every-second");
    auto listed = nodes[id]->client().Get("/runtimed/v1/schedules");
    EXPECT_EQ(json::parse(listed->body)["Schedules"].size(), 1u) << listed->body;
  }

  // Five seconds of ticks: one record per second, not one per node.
  std::vector<Tick> ticks;
  ASSERT_TRUE(eventually(
      [&] {
        auto more = drain_ticks(n1, "ticks");
        ticks.insert(ticks.end(), more.begin(), more.end());
        return !ticks.empty();
      },
      10s, 100ms))
      << n1.daemon_log();
  // The five whole seconds after the first tick, read once a later second has ticked (so the
  // records of the window's ticks, delivered out of order or not, have all arrived).
  const int64_t first_s =
      std::min_element(ticks.begin(), ticks.end(), [](const Tick& a, const Tick& b) {
        return a.time_s < b.time_s;
      })->time_s;
  ASSERT_TRUE(eventually(
      [&] {
        auto more = drain_ticks(n1, "ticks");
        ticks.insert(ticks.end(), more.begin(), more.end());
        return std::any_of(ticks.begin(), ticks.end(),
                           [&](const Tick& t) { return t.time_s >= first_s + 7; });
      },
      15s, 100ms));
  std::multiset<int64_t> seconds;
  std::set<std::string> ids;
  for (const Tick& t : ticks) {
    if (t.time_s > first_s && t.time_s <= first_s + 5) seconds.insert(t.time_s);
    ids.insert(t.id);
  }
  EXPECT_EQ(ids.size(), ticks.size());  // no event delivered twice
  EXPECT_EQ(std::set<int64_t>(seconds.begin(), seconds.end()).size(), seconds.size())
      << "a second ticked twice";
  EXPECT_GE(seconds.size(), 4u);  // rate(1 second) over five seconds (a late wake skips one)
  EXPECT_LE(seconds.size(), 5u);

  // The holder dies without a word: another node takes the lease over once it ran out, and
  // fires the ticks from then on.
  const std::string holder = lease_holder(db);
  ASSERT_TRUE(nodes.contains(holder)) << holder;
  const int64_t killed_ms = wall_ms();
  nodes[holder]->stop(SIGKILL);
  int64_t taken_over_ms = -1, fired_ms = -1;
  ASSERT_TRUE(eventually(
      [&] {
        if (taken_over_ms < 0) {
          const std::string now_holder = lease_holder(db);
          if (!now_holder.empty() && now_holder != holder) taken_over_ms = wall_ms();
        }
        const int64_t fired = last_fire_ms(db, "every-second");
        if (fired > killed_ms) fired_ms = fired;
        return taken_over_ms >= 0 && fired_ms >= 0;
      },
      10s, 20ms))
      << "holder " << holder << " killed; lease now " << lease_holder(db);
  std::cout << "figure: schedule lease holder SIGKILLed (2 s lease): lease taken over after "
            << taken_over_ms - killed_ms << " ms, next tick fired after " << fired_ms - killed_ms
            << " ms\n";
  EXPECT_LE(fired_ms - killed_ms, 3000);  // a lease and a second
  const std::string survivor = holder == "n3" ? "n2" : "n3";
  DaemonProcess& alive = *nodes[survivor];
  // The ticks after the handover reach the queue, once each.
  const int64_t handed_over_s = fired_ms / 1000;
  ASSERT_TRUE(eventually(
      [&] {
        auto more = drain_ticks(alive, "ticks");
        ticks.insert(ticks.end(), more.begin(), more.end());
        return std::count_if(ticks.begin(), ticks.end(),
                             [&](const Tick& t) { return t.time_s >= handed_over_s; }) >= 2;
      },
      15s, 100ms));

  // Deleted through n3 (n2 when n3 was the holder), read back through the third node: no tick
  // fires after the delete.
  auto removed = alive.client().Delete("/runtimed/v1/schedules/every-second");
  ASSERT_EQ(removed->status, 204);
  const int64_t deleted_ms = wall_ms();
  std::string other;  // the third node
  for (const auto& [id, node] : nodes)
    if (id != holder && id != survivor) other = id;
  EXPECT_EQ(nodes[other]->client().Get("/runtimed/v1/schedules/every-second")->status, 404);
  std::this_thread::sleep_for(3s);
  for (const Tick& t : drain_ticks(alive, "ticks")) {
    ids.insert(t.id);
    EXPECT_LE(t.time_s * 1000, deleted_ms) << "a tick fired after the delete";
  }
  EXPECT_EQ(last_fire_ms(db, "every-second"), -1);
  for (const auto& [id, node] : nodes) {
    if (id != holder) {
      EXPECT_EQ(node->stop(), 0) << id;
    }
  }
  // The killed holder's environments: removed by a restart on its state, as after a crash.
  testsupport::restart_to_clean_up(*nodes[holder], node_args(pg, holder));
  EXPECT_TRUE(
      testsupport::leftovers(nodes[holder]->cgroup_parent(), nodes[holder]->state_dir()).empty());
}

TEST(DaemonClusterScheduleTest, AStoppedHolderGivesTheLeaseUpAtOnce) {
  testsupport::PostgresServer pg;
  // A 6 s lease: taken over at its expiry, the next tick would come 4 s after the stop at best.
  std::map<std::string, std::unique_ptr<DaemonProcess>> nodes;
  for (const char* id : {"n1", "n2"})
    nodes[id] = std::make_unique<DaemonProcess>(node_args(pg, id, "6"));
  ASSERT_EQ(nodes["n1"]->create_function("tick"), 201);
  auto put = nodes["n2"]->client().Put("/runtimed/v1/schedules/every-second",
                                       json{{"ScheduleExpression", "rate(1 second)"},
                                            {"Target", {{"Arn", std::string(kArn) + "tick"}}}}
                                           .dump(),
                                       "application/json");
  ASSERT_EQ(put->status, 200) << put->body;
  auto db = connect(pg);
  ASSERT_TRUE(eventually([&] { return last_fire_ms(db, "every-second") > 0; }, 10s, 50ms));
  const std::string holder = lease_holder(db);
  ASSERT_TRUE(nodes.contains(holder)) << holder;
  const int64_t stopped_ms = wall_ms();
  EXPECT_EQ(nodes[holder]->stop(), 0);
  ASSERT_TRUE(eventually([&] { return last_fire_ms(db, "every-second") > stopped_ms; }, 10s, 20ms));
  const int64_t fired_ms = last_fire_ms(db, "every-second");
  std::cout << "figure: schedule lease holder SIGTERMed (6 s lease): next tick fired after "
            << fired_ms - stopped_ms << " ms\n";
  EXPECT_LT(fired_ms - stopped_ms, 2500);
  EXPECT_NE(lease_holder(db), holder);
}

TEST(DaemonClusterScheduleTest, ADatabaseThatIsDownAnswersServiceExceptionAndFiringResumes) {
  testsupport::PostgresServer pg;
  DaemonProcess n1(node_args(pg, "n1"));
  ASSERT_EQ(n1.create_function("tick"), 201);
  auto put = [&] {
    return n1.client().Put("/runtimed/v1/schedules/every-second",
                           json{{"ScheduleExpression", "rate(1 second)"},
                                {"Target", {{"Arn", std::string(kArn) + "tick"}}}}
                               .dump(),
                           "application/json");
  };
  ASSERT_EQ(put()->status, 200);
  pg.stop();
  auto expect_service_exception = [](const httplib::Result& r) {
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 500) << r->body;
    EXPECT_EQ(testsupport::header(r, "x-amzn-ErrorType"), "ServiceException") << r->body;
  };
  expect_service_exception(n1.client().Get("/runtimed/v1/schedules/every-second"));
  expect_service_exception(n1.client().Get("/runtimed/v1/schedules"));
  expect_service_exception(put());
  expect_service_exception(n1.client().Delete("/runtimed/v1/schedules/every-second"));
  std::this_thread::sleep_for(3s);  // longer than the lease: the scheduler retries meanwhile
  ASSERT_TRUE(n1.health().is_object()) << n1.daemon_log();
  pg.start();
  // Back: the node registers again, takes the lease and fires the schedule.
  const int64_t back_ms = wall_ms();
  auto db = connect(pg);
  ASSERT_TRUE(eventually([&] { return last_fire_ms(db, "every-second") > back_ms; }, 20s, 100ms))
      << n1.daemon_log();
  EXPECT_EQ(n1.stop(), 0);
}

TEST(DaemonClusterScheduleTest, AScaledScheduleClockIsRefusedWithCluster) {
  testsupport::TempDir state("rt-cluster-schedule-scale");
  // Each node's scaled clock would run from its own start: the shared times would disagree.
  const auto run = testsupport::run_command(
      {testsupport::bin_path("runtimed").string(), "serve", "--cluster",
       "postgresql:///runtimed?host=/nonexistent", "--schedule-time-scale", "60", "--listen",
       "127.0.0.1:0", "--state-dir", state.path().string(), "--cgroup-parent",
       "rt-dtest-" + common::random_hex(8)});
  EXPECT_EQ(run.status, 2) << run;
  EXPECT_NE(run.err.find("--schedule-time-scale"), std::string::npos) << run;
}

}  // namespace
