// Cluster mode's PostgreSQL layer against a real PostgreSQL 15 of the test's own: schema
// migrations applied exactly once when nodes race, and membership leases (register, renew,
// expiry in the database's time, fencing tokens, leaving), directly and through ClusterNode.
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <thread>
#include <vector>

#include "runtimed/cluster/cluster_node.hpp"
#include "runtimed/cluster/membership_store.hpp"
#include "runtimed/cluster/pg_connection.hpp"
#include "runtimed/cluster/schema_migrations.hpp"
#include "tests/eventually.hpp"
#include "tests/integration/postgres_server.hpp"

namespace {

using namespace std::chrono_literals;
using cluster::NodeState;
using cluster::PgConnection;
using testsupport::eventually;

PgConnection connect(const testsupport::PostgresServer& pg) {
  auto c = PgConnection::connect(pg.url(), 2s, 5s);
  if (!c) throw std::runtime_error("connect: " + c.error().message);
  return std::move(*c);
}

std::vector<int64_t> recorded_versions(PgConnection& db) {
  auto rows = db.exec("SELECT version FROM schema_migrations ORDER BY version");
  EXPECT_TRUE(rows) << rows.error().message;
  std::vector<int64_t> versions;
  for (int r = 0; rows && r < rows->rows(); ++r) versions.push_back(rows->integer(r, 0));
  return versions;
}

std::optional<cluster::NodeStatus> node(PgConnection& db, const std::string& id) {
  auto nodes = cluster::list_nodes(db);
  if (!nodes) return std::nullopt;
  for (auto& n : *nodes)
    if (n.node_id == id) return n;
  return std::nullopt;
}

TEST(ClusterSchemaTest, MigrationsRacingFromSeveralConnectionsApplyEachOnce) {
  testsupport::PostgresServer pg;
  constexpr int kNodes = 4;
  std::vector<PgConnection> connections;
  for (int i = 0; i < kNodes; ++i) connections.push_back(connect(pg));
  std::vector<std::expected<std::vector<int>, cluster::PgError>> results(kNodes);
  std::vector<std::thread> nodes;
  for (int i = 0; i < kNodes; ++i)
    nodes.emplace_back([&, i] { results[i] = cluster::migrate(connections[i]); });
  for (auto& t : nodes) t.join();
  int applied_by = 0;
  for (const auto& r : results) {
    ASSERT_TRUE(r) << r.error().message;
    if (!r->empty()) {
      ++applied_by;
      EXPECT_EQ(r->back(), cluster::latest_schema_version());
    }
  }
  EXPECT_EQ(applied_by, 1) << "exactly one connection applies the migrations";
  std::vector<int64_t> expected;
  for (const auto& m : cluster::schema_migrations()) expected.push_back(m.version);
  EXPECT_EQ(recorded_versions(connections[0]), expected);
}

TEST(ClusterSchemaTest, MigratingAnUpToDateDatabaseAppliesNothing) {
  testsupport::PostgresServer pg;
  auto db = connect(pg);
  auto first = cluster::migrate(db);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_FALSE(first->empty());
  auto again = cluster::migrate(db);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE(again->empty());
  EXPECT_EQ(recorded_versions(db).size(), cluster::schema_migrations().size());
}

TEST(ClusterSchemaTest, AFailedConnectionSaysWhy) {
  testsupport::PostgresServer pg(/*start_now=*/false);
  const auto started = std::chrono::steady_clock::now();
  auto c = PgConnection::connect(pg.url(), 2s, 5s);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("connect"), std::string::npos) << c.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  EXPECT_FALSE(PgConnection::check_url("postgresql://[bad"));
  EXPECT_TRUE(PgConnection::check_url(pg.url()));
}

class ClusterMembershipTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto applied = cluster::migrate(db_);
    ASSERT_TRUE(applied) << applied.error().message;
  }
  testsupport::PostgresServer pg_;
  PgConnection db_ = connect(pg_);
};

TEST_F(ClusterMembershipTest, ARegisteredNodeIsLiveUntilItsLeaseRunsOut) {
  auto token = cluster::register_node(db_, "a", "http://127.0.0.1:9001", 600ms);
  ASSERT_TRUE(token) << token.error().message;
  EXPECT_GT(*token, 0);
  auto a = node(db_, "a");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->state, NodeState::Live);
  EXPECT_EQ(a->address, "http://127.0.0.1:9001");
  EXPECT_EQ(a->fencing_token, *token);
  EXPECT_GT(a->lease_remaining, 0ms);
  EXPECT_LE(a->lease_remaining, 600ms);
  EXPECT_EQ(a->started_at.size(), std::string("2026-01-01T00:00:00.000Z").size()) << a->started_at;
  // Renewed, it lives on past the first lease.
  std::this_thread::sleep_for(400ms);
  auto renewed = cluster::renew_lease(db_, "a", *token, 600ms, 3);
  ASSERT_TRUE(renewed) << renewed.error().message;
  EXPECT_TRUE(*renewed);
  std::this_thread::sleep_for(400ms);
  a = node(db_, "a");
  EXPECT_EQ(a->state, NodeState::Live);
  EXPECT_EQ(a->in_flight, 3);
  EXPECT_GE(a->heartbeat_age, 350ms);
  // Not renewed, it is dead; and an expired lease cannot be renewed.
  ASSERT_TRUE(eventually([&] { return node(db_, "a")->state == NodeState::Dead; }, 2s));
  EXPECT_LT(node(db_, "a")->lease_remaining, 0ms);
  auto late = cluster::renew_lease(db_, "a", *token, 600ms, 0);
  ASSERT_TRUE(late);
  EXPECT_FALSE(*late);
  EXPECT_EQ(node(db_, "a")->state, NodeState::Dead);
}

// Rows of nodes long dead or left are removed; live ones and recent ones stay.
TEST_F(ClusterMembershipTest, NodesGoneLongerThanTheRetentionAreForgotten) {
  ASSERT_TRUE(cluster::register_node(db_, "dead", "http://127.0.0.1:9001", 50ms));
  auto gone = cluster::register_node(db_, "gone", "http://127.0.0.1:9002", 10s);
  ASSERT_TRUE(gone);
  ASSERT_TRUE(cluster::leave(db_, "gone", *gone));
  ASSERT_TRUE(cluster::register_node(db_, "live", "http://127.0.0.1:9003", 10s));
  std::this_thread::sleep_for(400ms);
  auto recent = cluster::forget_nodes(db_, 1h);
  ASSERT_TRUE(recent) << recent.error().message;
  EXPECT_EQ(*recent, 0);
  auto forgotten = cluster::forget_nodes(db_, 200ms);
  ASSERT_TRUE(forgotten) << forgotten.error().message;
  EXPECT_EQ(*forgotten, 2);
  auto nodes = cluster::list_nodes(db_);
  ASSERT_TRUE(nodes);
  ASSERT_EQ(nodes->size(), 1u);
  EXPECT_EQ(nodes->front().node_id, "live");
}

TEST_F(ClusterMembershipTest, ReRegisteringHandsOutAGreaterTokenAndFencesTheOldOne) {
  auto first = cluster::register_node(db_, "a", "http://127.0.0.1:9001", 10s);
  auto other = cluster::register_node(db_, "b", "http://127.0.0.1:9002", 10s);
  auto second = cluster::register_node(db_, "a", "http://127.0.0.1:9003", 10s);
  ASSERT_TRUE(first && other && second);
  EXPECT_GT(*other, *first);
  EXPECT_GT(*second, *other);
  // The old registration's token renews nothing; the new one's does.
  EXPECT_FALSE(*cluster::renew_lease(db_, "a", *first, 10s, 0));
  EXPECT_TRUE(*cluster::renew_lease(db_, "a", *second, 10s, 0));
  EXPECT_FALSE(*cluster::leave(db_, "a", *first));
  const auto a = node(db_, "a");
  EXPECT_EQ(a->address, "http://127.0.0.1:9003");
  EXPECT_EQ(a->fencing_token, *second);
  EXPECT_EQ(a->state, NodeState::Live);
}

// The heartbeat's cost on the database: one UPDATE by primary key. Printed for docs/cluster.md;
// the bound is only the heartbeat's own budget (a third of the shortest lease, 1 s).
TEST_F(ClusterMembershipTest, RegisteringAndRenewingAreCheap) {
  static constexpr int kRounds = 200;
  auto timed = [](auto op) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kRounds; ++i) op(i);
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                 start) /
           kRounds;
  };
  int64_t token = 0;
  const auto registering = timed([&](int) {
    auto t = cluster::register_node(db_, "a", "http://127.0.0.1:9001", 10s);
    ASSERT_TRUE(t);
    token = *t;
  });
  const auto renewing = timed([&](int i) {
    auto ok = cluster::renew_lease(db_, "a", token, 10s, i);
    ASSERT_TRUE(ok && *ok);
  });
  const auto listing = timed([&](int) { ASSERT_TRUE(cluster::list_nodes(db_)); });
  std::cout << "figure: register " << registering.count() << " us, renew " << renewing.count()
            << " us, list " << listing.count() << " us (mean of " << kRounds << ", Unix socket)\n";
  EXPECT_LT(renewing, 333ms);
}

TEST_F(ClusterMembershipTest, ANodeThatLeavesIsLeftAndRenewsNoMore) {
  auto token = cluster::register_node(db_, "a", "http://127.0.0.1:9001", 10s);
  ASSERT_TRUE(token);
  auto left = cluster::leave(db_, "a", *token);
  ASSERT_TRUE(left) << left.error().message;
  EXPECT_TRUE(*left);
  EXPECT_EQ(node(db_, "a")->state, NodeState::Left);
  EXPECT_LE(node(db_, "a")->lease_remaining, 0ms);
  EXPECT_FALSE(*cluster::renew_lease(db_, "a", *token, 10s, 0));
  // A restart registers it again, live, under a new token.
  auto again = cluster::register_node(db_, "a", "http://127.0.0.1:9001", 10s);
  EXPECT_GT(*again, *token);
  EXPECT_EQ(node(db_, "a")->state, NodeState::Live);
}

TEST(ClusterNodeTest, RegistersOnStartHeartbeatsAndLeavesOnStop) {
  testsupport::PostgresServer pg;
  cluster::ClusterNode member(
      {.database_url = pg.url(), .node_id = "n1", .lease = 900ms, .in_flight = [] {
         return int64_t{7};
       }});
  const auto starting = std::chrono::steady_clock::now();
  ASSERT_TRUE(member.start("http://127.0.0.1:9001"));
  std::cout << "figure: first start (connect, migrate a fresh database, register): "
            << std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                         starting)
                   .count()
            << " ms\n";
  const int64_t token = member.fencing_token();
  EXPECT_GT(token, 0);
  // Heartbeats every lease/3 keep it live well past one lease.
  std::this_thread::sleep_for(2s);
  auto nodes = member.nodes();
  ASSERT_TRUE(nodes) << nodes.error().message;
  ASSERT_EQ(nodes->size(), 1u);
  EXPECT_EQ((*nodes)[0].state, NodeState::Live);
  EXPECT_EQ((*nodes)[0].fencing_token, token);
  EXPECT_EQ((*nodes)[0].in_flight, 7);
  EXPECT_LT((*nodes)[0].heartbeat_age, 900ms);
  member.stop();
  auto db = connect(pg);
  EXPECT_EQ(node(db, "n1")->state, NodeState::Left);
}

TEST(ClusterNodeTest, AnUnreachableDatabaseDelaysStartByAtMostOneAttemptThenItRegistersLater) {
  testsupport::PostgresServer pg(/*start_now=*/false);
  cluster::ClusterNode member({.database_url = pg.url(), .node_id = "n1", .lease = 900ms});
  const auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE(member.start("http://127.0.0.1:9001"));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  EXPECT_EQ(member.fencing_token(), 0);
  pg.start();
  // The backoff is at most 8 s between attempts.
  ASSERT_TRUE(eventually([&] { return member.fencing_token() > 0; }, 15s));
  auto db = connect(pg);
  EXPECT_EQ(node(db, "n1")->state, NodeState::Live);
}

TEST(ClusterNodeTest, ANodeWhoseLeaseRanOutWhileTheDatabaseWasDownRegistersAgain) {
  testsupport::PostgresServer pg;
  cluster::ClusterNode member({.database_url = pg.url(), .node_id = "n1", .lease = 900ms});
  ASSERT_TRUE(member.start("http://127.0.0.1:9001"));
  const int64_t first = member.fencing_token();
  pg.stop();
  std::this_thread::sleep_for(1500ms);  // past the lease: others would see it dead
  pg.start();
  ASSERT_TRUE(eventually([&] { return member.fencing_token() > first; }, 15s));
  auto db = connect(pg);
  EXPECT_EQ(node(db, "n1")->state, NodeState::Live);
}

}  // namespace
