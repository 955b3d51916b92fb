// Cluster mode's async events end to end, on a PostgreSQL of the test's own: claims under fencing
// tokens on the real queue code (a node whose lease was taken over cannot record what it held),
// and three real `runtimed serve --cluster` nodes working one backlog while one is SIGKILLed:
// every event reaches its outcome, none twice.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <set>
#include <thread>

#include "runtimed/async/async_queue.hpp"
#include "runtimed/cluster/hash_ring.hpp"
#include "runtimed/cluster/membership_store.hpp"
#include "runtimed/cluster/pg_state_backend.hpp"
#include "tests/eventually.hpp"
#include "tests/integration/daemon_process.hpp"
#include "tests/integration/postgres_server.hpp"

namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using runtimed::AsyncQueue;
using runtimed::StateDb;
using testsupport::DaemonProcess;
using testsupport::eventually;
using testsupport::header;

std::unique_ptr<StateDb> shared_db(const testsupport::PostgresServer& pg) {
  return std::make_unique<StateDb>(
      std::make_unique<cluster::PgStateBackend>(cluster::PgStateOptions{.database_url = pg.url()}));
}

cluster::PgConnection connect(const testsupport::PostgresServer& pg) {
  auto c = cluster::PgConnection::connect(pg.url(), 2s, 5000ms);
  if (!c) throw std::runtime_error(c.error().message);
  return std::move(*c);
}

TEST(ClusterAsyncQueueTest, ANodeWhoseLeaseWasTakenOverCannotSettleWhatItHeld) {
  testsupport::PostgresServer pg;
  auto db = shared_db(pg);
  AsyncQueue a_queue(*db), b_queue(*db);
  auto membership = connect(pg);
  ASSERT_TRUE(db->exec("SELECT 1"));  // connects and migrates
  auto a_token = cluster::register_node(membership, "a", "http://127.0.0.1:1", 300ms);
  auto b_token = cluster::register_node(membership, "b", "http://127.0.0.1:2", 60s);
  ASSERT_TRUE(a_token && b_token);
  int64_t a_now = *a_token;
  a_queue.set_fencing_token([&] { return a_now; });
  b_queue.set_fencing_token([&] { return *b_token; });
  ASSERT_TRUE(a_queue.shared());

  ASSERT_TRUE(a_queue.enqueue("fn", "{}", "req-1", 1000));
  ASSERT_TRUE(a_queue.enqueue("fn", "{}", "req-2", 1000));
  auto held = a_queue.claim("fn", 1, 2000, 3600, true);
  ASSERT_TRUE(held && held->size() == 1);
  EXPECT_EQ(held->front().claim_token, *a_token);
  // Claimed rows are not claimed again: b gets the other one.
  auto other = b_queue.claim("fn", 10, 2000, 3600, true);
  ASSERT_TRUE(other && other->size() == 1);
  EXPECT_NE(other->front().request_id, held->front().request_id);
  // While a is live its event stays its own.
  EXPECT_EQ(b_queue.recover_in_flight(3000).value_or(-1), 0);

  // a's lease runs out: b takes its event back to the queue and claims it.
  std::this_thread::sleep_for(400ms);
  EXPECT_TRUE(a_queue.claim("fn", 10, 2000, 3600, true).value().empty());  // expired: claims none
  EXPECT_EQ(b_queue.recover_in_flight(2000).value_or(-1), 1);
  auto taken = b_queue.claim("fn", 10, 2000, 3600, true);
  ASSERT_TRUE(taken && taken->size() == 1);
  EXPECT_EQ(taken->front().request_id, held->front().request_id);
  EXPECT_EQ(taken->front().invoke_count, 2);
  EXPECT_EQ(taken->front().last_status, 500);

  // a comes back (registering again, a new token): what it held is not its to settle.
  auto a_again = cluster::register_node(membership, "a", "http://127.0.0.1:1", 60s);
  ASSERT_TRUE(a_again);
  a_now = *a_again;
  auto requeued = a_queue.requeue(held->front(), 5000, true, 200, "late");
  ASSERT_FALSE(requeued);
  EXPECT_EQ(requeued.error().kind, common::StoreErrorKind::Conflict);
  auto removed = db->write([&] { return a_queue.remove_locked(held->front()); });
  ASSERT_FALSE(removed);
  EXPECT_EQ(removed.error().kind, common::StoreErrorKind::Conflict);
  // b records both outcomes; nothing is left.
  EXPECT_TRUE(db->write([&] { return b_queue.remove_locked(taken->front()); }));
  EXPECT_TRUE(db->write([&] { return b_queue.remove_locked(other->front()); }));
  EXPECT_EQ(b_queue.backlog("fn").value().queued + b_queue.backlog("fn").value().in_flight, 0);
}

std::vector<std::string> node_args(const testsupport::PostgresServer& pg, const std::string& id) {
  return {"--cluster", pg.url(), "--cluster-lease-seconds", "2",
          "--node-id", id,       "--async-retry-delays",    "0,0"};
}

std::string sqs_arn(const std::string& name) {
  return "arn:aws:sqs:us-east-1:000000000000:" + name;
}

// Every message of `queue` (received with a long visibility, so each is read once).
std::vector<json> drain(const DaemonProcess& d, const std::string& queue) {
  std::vector<json> out;
  while (true) {
    auto r = d.client().Post("/runtimed/v1/queues/" + queue + "/receive?max=1000&visibility=600",
                             "", "application/json");
    if (!r || r->status != 200) break;
    const json messages = json::parse(r->body)["Messages"];
    if (messages.empty()) break;
    for (const auto& m : messages) out.push_back(json::parse(m["Body"].get<std::string>()));
  }
  return out;
}

int64_t depth(const DaemonProcess& d, const std::string& queue) { return d.queue_depth(queue); }

// PutFunctionConcurrency through `d`.
void reserve(const DaemonProcess& d, const std::string& function, int reserved) {
  auto r =
      d.client().Put("/2017-10-31/functions/" + function + "/concurrency",
                     json{{"ReservedConcurrentExecutions", reserved}}.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
}

// Waits until each of `nodes` has learned `function`'s reservation from the catalog's change feed
// (until then a node admits it as unreserved, past its share).
void wait_until_each_knows(const std::vector<const DaemonProcess*>& nodes,
                           const std::string& function, int reserved) {
  for (const DaemonProcess* d : nodes)
    ASSERT_TRUE(
        eventually([&] { return d->reserved_concurrency(function) == reserved; }, 10s, 50ms));
}

// Waits until each of `nodes` routes by (and splits reservations over) a view of all of them.
void wait_until_each_sees_all(const std::vector<const DaemonProcess*>& nodes) {
  for (const DaemonProcess* d : nodes)
    ASSERT_TRUE(eventually(
        [&] {
          auto r = d->client().Get("/runtimed/v1/cluster");
          return r && r->status == 200 &&
                 json::parse(r->body)["RoutingView"].size() == nodes.size();
        },
        10s, 50ms));
}

TEST(DaemonClusterAsyncTest, EveryEventOfABacklogReachesItsOutcomeOnceWhenANodeIsKilled) {
  testsupport::PostgresServer pg;
  DaemonProcess n1(node_args(pg, "n1"));
  DaemonProcess n3(node_args(pg, "n3"));
  auto n2 = std::make_unique<DaemonProcess>(node_args(pg, "n2"));
  wait_until_each_sees_all({&n1, n2.get(), &n3});
  ASSERT_EQ(n1.create_function("work"), 201);
  // Six at a time in the cluster, split two to a node, 50 ms each: the backlog outgrows what the
  // nodes take from it.
  reserve(n1, "work", 6);
  wait_until_each_knows({&n1, n2.get(), &n3}, "work", 6);
  auto put = n1.client().Put("/2019-09-25/functions/work/event-invoke-config",
                             json{{"MaximumRetryAttempts", 1},
                                  {"DestinationConfig",
                                   {{"OnSuccess", {{"Destination", sqs_arn("done")}}},
                                    {"OnFailure", {{"Destination", sqs_arn("failed")}}}}}}
                                 .dump(),
                             "application/json");
  ASSERT_EQ(put->status, 200) << put->body;

  // 1,000 events through the three nodes; every tenth fails (and is retried once). Halfway, nine
  // that each hold a slot for 2 s: more than n1 and n3 can hold together, so n2 takes some.
  constexpr int kEvents = 1000;
  constexpr int kHolds = 9;
  const DaemonProcess* nodes[] = {&n1, n2.get(), &n3};
  std::set<std::string> succeeding, failing;
  const auto send = [&](const DaemonProcess& node, const json& event, bool fails) {
    auto r = node.invoke("work", event.dump(), {{"X-Amz-Invocation-Type", "Event"}});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 202) << r->body;
    (fails ? failing : succeeding).insert(header(r, "x-amzn-RequestId"));
  };
  // Whether n2 has claimed one of the holds: it is in flight under n2's fencing token (read from
  // the database, not from n2, so what n2 holds is known however its health lags).
  auto membership = connect(pg);
  const auto n2_holds_one = [&] {
    auto rows = membership.exec(
        "SELECT 1 FROM async_events e JOIN cluster_nodes n ON e.claim_token = n.fencing_token "
        "WHERE n.node_id = 'n2' AND e.state = 'in_flight' AND e.payload LIKE '%\"hold\"%'");
    return rows && rows->rows() > 0;
  };
  const auto started = std::chrono::steady_clock::now();
  int64_t killed_at = -1;
  // The status route shows the shared backlog while it is worked: read every 50 events, since on
  // a loaded machine enqueueing may be slow enough that the nodes keep up with it at one moment.
  int64_t most_seen = 0;
  const auto look_at_queue = [&] {
    auto r = n1.client().Get("/runtimed/v1/cluster");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const json queue = json::parse(r->body)["AsyncEvents"];
    most_seen =
        std::max(most_seen, queue["Queued"].get<int64_t>() + queue["InFlight"].get<int64_t>());
  };
  for (int i = 0; i < kEvents; ++i) {
    if (i % 50 == 49) look_at_queue();
    if (i == kEvents / 2) {
      for (int h = 0; h < kHolds; ++h)
        ASSERT_NO_FATAL_FAILURE(
            send(*nodes[h % 3], json{{"action", "sleep"}, {"ms", 2000}, {"hold", h}}, false));
      // n2 dies holding one (it has most of 2 s to run yet): another node runs it again.
      ASSERT_TRUE(eventually(n2_holds_one, 20s, 20ms));
      killed_at = depth(n1, "done");
      n2->stop(SIGKILL);
      nodes[1] = &n3;
    }
    const bool fails = i % 10 == 0;
    const json event = fails ? json{{"action", "error"}, {"i", i}}
                             : json{{"action", "sleep"}, {"ms", 50}, {"i", i}};
    ASSERT_NO_FATAL_FAILURE(send(*nodes[i % 3], event, fails));
  }
  look_at_queue();
  EXPECT_GT(most_seen, 0) << "no event was ever queued or in flight at a look";
  ASSERT_TRUE(eventually(
      [&] { return depth(n1, "done") + depth(n1, "failed") >= kEvents + kHolds; }, 120s, 200ms));
  const auto took = std::chrono::steady_clock::now() - started;
  std::this_thread::sleep_for(3s);  // a duplicate, if any, would land meanwhile
  auto status = n1.client().Get("/runtimed/v1/cluster");
  EXPECT_EQ(json::parse(status->body)["AsyncEvents"], (json{{"Queued", 0}, {"InFlight", 0}}));

  std::multiset<std::string> done, failed;
  int taken_over = 0;  // successes on a second attempt: what n2 held when it died
  for (const auto& m : drain(n3, "done")) {
    done.insert(m["requestContext"]["requestId"]);
    if (m["requestContext"]["approximateInvokeCount"] > 1) ++taken_over;
  }
  EXPECT_GT(taken_over, 0);
  for (const auto& m : drain(n3, "failed")) {
    failed.insert(m["requestContext"]["requestId"]);
    EXPECT_EQ(m["requestContext"]["condition"], "RetriesExhausted");
  }
  EXPECT_EQ(done.size(), succeeding.size());
  EXPECT_EQ(std::set<std::string>(done.begin(), done.end()), succeeding);
  EXPECT_EQ(failed.size(), failing.size());
  EXPECT_EQ(std::set<std::string>(failed.begin(), failed.end()), failing);
  std::cout << "figure: 1,009 events over 3 nodes, one SIGKILLed after " << killed_at
            << " successes holding " << taken_over << " attempts: all settled once in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms\n";
  EXPECT_EQ(n1.stop(), 0);
  EXPECT_EQ(n3.stop(), 0);
  // n2's environments were cut off with it: restarted on its state, it removes what they left.
  testsupport::restart_to_clean_up(*n2, node_args(pg, "n2"));
  EXPECT_TRUE(testsupport::leftovers(n2->cgroup_parent(), n2->state_dir()).empty());
}

// A node frozen (SIGSTOP) while it runs an event is dead to the others once its lease runs out:
// another node takes the event back and settles it. Thawed, the node finds its lease taken and its
// attempt's outcome refused (the claim's fencing token is no longer the event's): each event is
// settled once, the frozen one after a second attempt.
TEST(DaemonClusterAsyncTest, ANodeReturningAfterItsLeaseWasTakenCannotSettleWhatItHeld) {
  testsupport::PostgresServer pg;
  DaemonProcess n1(node_args(pg, "n1"));
  DaemonProcess n2(node_args(pg, "n2"));
  ASSERT_EQ(n1.create_function("held"), 201);
  reserve(n1, "held", 2);  // one at a time on each node
  auto put = n1.client().Put(
      "/2019-09-25/functions/held/event-invoke-config",
      json{{"DestinationConfig", {{"OnSuccess", {{"Destination", sqs_arn("held-done")}}}}}}.dump(),
      "application/json");
  ASSERT_EQ(put->status, 200) << put->body;
  wait_until_each_sees_all({&n1, &n2});
  wait_until_each_knows({&n1, &n2}, "held", 2);

  std::set<std::string> sent;
  for (int i = 0; i < 2; ++i) {
    auto r =
        n1.invoke("held", R"({"action":"sleep","ms":1000})", {{"X-Amz-Invocation-Type", "Event"}});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 202) << r->body;
    sent.insert(header(r, "x-amzn-RequestId"));
  }
  // One runs on each node; n2 freezes mid-attempt (its function runs on and ends meanwhile).
  ASSERT_TRUE(eventually([&] { return n2.health().value("busy", 0) == 1; }, 10s, 5ms));
  ASSERT_EQ(::kill(n2.pid(), SIGSTOP), 0);
  const auto frozen = std::chrono::steady_clock::now();
  // n1 settles its own, then (n2's 2 s lease gone) takes n2's back and settles it too.
  ASSERT_TRUE(eventually([&] { return depth(n1, "held-done") == 2; }, 20s, 50ms));
  const auto taken_over = std::chrono::steady_clock::now() - frozen;
  ASSERT_EQ(::kill(n2.pid(), SIGCONT), 0);
  // Thawed, n2 tries to record its attempt: refused, nothing delivered twice.
  ASSERT_TRUE(eventually(
      [&] {
        return n2.daemon_log().find("was lost (this node's lease ran out") != std::string::npos;
      },
      10s, 50ms))
      << n2.daemon_log();
  std::this_thread::sleep_for(1s);
  std::multiset<std::string> done;
  int second_attempts = 0;
  for (const auto& m : drain(n1, "held-done")) {
    done.insert(m["requestContext"]["requestId"]);
    if (m["requestContext"]["approximateInvokeCount"] == 2) ++second_attempts;
  }
  EXPECT_EQ(std::set<std::string>(done.begin(), done.end()), sent);
  EXPECT_EQ(done.size(), 2u);
  EXPECT_EQ(second_attempts, 1);
  std::cout << "figure: a frozen node's event settled by another node "
            << std::chrono::duration_cast<std::chrono::milliseconds>(taken_over).count()
            << " ms after the freeze (lease 2 s)\n";
  EXPECT_EQ(n1.stop(), 0);
  EXPECT_EQ(n2.stop(), 0);
}

// An event enqueued through a node that holds no share of its function's reservation (1, on its
// home) runs on the home, which the enqueue's NOTIFY wakes at once rather than its next poll
// (every 500 ms).
TEST(DaemonClusterAsyncTest, AnEventEnqueuedOnOneNodeWakesTheNodeThatRunsIt) {
  testsupport::PostgresServer pg;
  DaemonProcess n1(node_args(pg, "n1"));
  DaemonProcess n2(node_args(pg, "n2"));
  ASSERT_EQ(n1.create_function("woken"), 201);
  reserve(n1, "woken", 1);
  const cluster::HashRing ring({"n1", "n2"});
  const bool n1_home = ring.nodes()[ring.walk("woken").front()] == "n1";
  DaemonProcess& home = n1_home ? n1 : n2;
  DaemonProcess& other = n1_home ? n2 : n1;
  // Both route by a view of both (so the other node holds no share).
  wait_until_each_sees_all({&n1, &n2});
  wait_until_each_knows({&n1, &n2}, "woken", 1);
  auto runs = [](const DaemonProcess& d) {
    const json h = d.health();
    return h["coldStarts"].get<int64_t>() + h["warmStarts"].get<int64_t>();
  };
  const int64_t other_runs = runs(other);
  std::vector<int64_t> waits_ms;
  for (int i = 0; i < 10; ++i) {
    const int64_t before = runs(home);
    const auto sent = std::chrono::steady_clock::now();
    auto r = other.invoke("woken", "{}", {{"X-Amz-Invocation-Type", "Event"}});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 202) << r->body;
    ASSERT_TRUE(eventually([&] { return runs(home) > before; }, 5s, 2ms));
    waits_ms.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - sent)
                           .count());
  }
  EXPECT_EQ(runs(other), other_runs) << "the node without a share ran none";
  std::sort(waits_ms.begin(), waits_ms.end());
  std::cout << "figure: an event enqueued on one node until it ran on another: median "
            << waits_ms[waits_ms.size() / 2] << " ms, most " << waits_ms.back()
            << " ms (poll safety net: 500 ms)\n";
  EXPECT_LT(waits_ms[waits_ms.size() / 2], 100);
  EXPECT_EQ(n1.stop(), 0);
  EXPECT_EQ(n2.stop(), 0);
}

// PostgreSQL killed (immediate shutdown) for 10 s under three nodes: warm synchronous calls
// through every node go on (routed by the nodes' last views, configurations cached), an Event
// invoke is refused with 503 (nothing accepted, nothing lost), and once the database is back
// every node rejoins, events are accepted and run, and changes are made again.
TEST(DaemonClusterAsyncTest, TenSecondsWithoutTheDatabaseStopOnlyWhatNeedsIt) {
  testsupport::PostgresServer pg;
  std::vector<std::unique_ptr<DaemonProcess>> nodes;
  for (const char* id : {"n1", "n2", "n3"})
    nodes.push_back(std::make_unique<DaemonProcess>(node_args(pg, id)));
  ASSERT_EQ(nodes[0]->create_function("steady"), 201);
  // Warm everywhere, each node routing to the home.
  ASSERT_TRUE(eventually(
      [&] {
        std::set<std::string> ran_on;
        for (auto& n : nodes) {
          auto r = n->invoke("steady", "{}");
          if (!r || r->status != 200) return false;
          ran_on.insert(header(r, "X-Runtimed-Node"));
        }
        return ran_on.size() == 1;
      },
      10s, 100ms));

  pg.stop();
  const auto down = std::chrono::steady_clock::now();
  int calls = 0, events = 0;
  while (std::chrono::steady_clock::now() - down < 10s) {
    for (auto& n : nodes) {
      auto r = n->invoke("steady", R"({"n":1})");
      ASSERT_TRUE(r);
      ASSERT_EQ(r->status, 200) << r->body;
      ++calls;
    }
    auto event = nodes[events % 3]->invoke("steady", "{}", {{"X-Amz-Invocation-Type", "Event"}});
    ASSERT_TRUE(event);
    EXPECT_EQ(event->status, 503) << event->body;
    EXPECT_EQ(header(event, "x-amzn-ErrorType"), "ServiceException");
    EXPECT_NE(json::parse(event->body)["message"].get<std::string>().find("not accepted"),
              std::string::npos);
    ++events;
    std::this_thread::sleep_for(100ms);
  }

  pg.start();
  const auto up = std::chrono::steady_clock::now();
  auto since_up = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 up)
        .count();
  };
  // Every node accepts events again, and they run.
  std::set<std::string> accepted;
  ASSERT_TRUE(eventually(
      [&] {
        for (size_t i = 0; i < nodes.size(); ++i) {
          if (accepted.contains(std::to_string(i))) continue;
          auto r = nodes[i]->invoke("steady", "{}", {{"X-Amz-Invocation-Type", "Event"}});
          if (r && r->status == 202) accepted.insert(std::to_string(i));
        }
        return accepted.size() == nodes.size();
      },
      20s, 100ms));
  const int64_t accepting_ms = since_up();
  ASSERT_TRUE(eventually(
      [&] {
        auto r = nodes[0]->client().Get("/runtimed/v1/cluster");
        if (!r || r->status != 200) return false;
        const json status = json::parse(r->body);
        int live = 0;
        for (const auto& n : status["Nodes"]) live += n["State"] == "live" ? 1 : 0;
        return live == 3 && status["AsyncEvents"] == json{{"Queued", 0}, {"InFlight", 0}};
      },
      20s, 100ms));
  const int64_t settled_ms = since_up();
  ASSERT_EQ(nodes[1]->create_function("after"), 201) << nodes[1]->daemon_log();
  EXPECT_EQ(nodes[2]->invoke("after", "{}")->status, 200);
  std::cout << "figure: PostgreSQL down 10 s under 3 nodes: " << calls
            << " synchronous calls all 200, " << events
            << " Event invokes all 503; after it restarted, every node accepted events in "
            << accepting_ms << " ms, all 3 nodes live and the queue empty in " << settled_ms
            << " ms\n";
  for (auto& n : nodes) EXPECT_EQ(n->stop(), 0);
}

}  // namespace
