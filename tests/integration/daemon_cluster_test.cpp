// Cluster mode end to end: real `runtimed serve --cluster` daemons on a PostgreSQL of the test's
// own, seen through the real `runtimed cluster status` CLI: three nodes live, a SIGKILLed one dead
// once its lease ran out while the others stay live, a SIGTERMed one left, a restarted one back
// under a new fencing token; and a daemon whose database is unreachable serving on.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <thread>

#include "tests/eventually.hpp"
#include "tests/integration/daemon_process.hpp"
#include "tests/integration/postgres_server.hpp"

namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testsupport::DaemonProcess;
using testsupport::eventually;

testsupport::CommandRun cluster_status(const DaemonProcess& d, bool as_json = true) {
  std::vector<std::string> args = {testsupport::bin_path("runtimed").string(), "cluster", "status",
                                   "--endpoint", "http://127.0.0.1:" + std::to_string(d.port())};
  if (as_json) args.push_back("--json");
  return testsupport::run_command(args);
}

// Node id -> state ("live", "dead", "left"), as `runtimed cluster status --json` prints them.
std::map<std::string, std::string> states(const DaemonProcess& d) {
  const auto run = cluster_status(d);
  EXPECT_EQ(run.status, 0) << run;
  std::map<std::string, std::string> found;
  const auto body = json::parse(run.out, nullptr, false);
  if (!body.is_object()) return found;
  for (const auto& n : body["Nodes"]) found[n["NodeId"]] = n["State"];
  return found;
}

// The node's row straight from GET /runtimed/v1/cluster (polled often: no process per look).
json node_row(const DaemonProcess& d, const std::string& id) {
  auto r = d.client().Get("/runtimed/v1/cluster");
  if (!r || r->status != 200) return nullptr;
  const json body = json::parse(r->body);  // held: the loop below reads into it
  for (const auto& n : body["Nodes"])
    if (n["NodeId"] == id) return n;
  return nullptr;
}

std::vector<std::string> cluster_args(const testsupport::PostgresServer& pg) {
  return {"--cluster", pg.url(), "--cluster-lease-seconds", "2"};
}

std::vector<std::string> with(std::vector<std::string> args, std::vector<std::string> more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

TEST(DaemonClusterTest, ThreeNodesLiveAKilledOneDeadAfterItsLeaseAStoppedOneLeft) {
  testsupport::PostgresServer pg;
  DaemonProcess n1(with(cluster_args(pg), {"--node-id", "n1"}));
  auto n2 = std::make_unique<DaemonProcess>(with(cluster_args(pg), {"--node-id", "n2"}));
  // The third keeps the id generated in its state dir, and is restarted on the same state.
  testsupport::TempDir state3("rt-cluster-n3");
  const std::string cgroup3 = "rt-dtest-" + common::random_hex(8);
  auto n3 = std::make_unique<DaemonProcess>(cluster_args(pg), state3.path(), cgroup3);
  std::string id3;
  std::ifstream(state3.path() / "cluster-node-id") >> id3;
  ASSERT_FALSE(id3.empty());

  // Each registered before it listened, so all three are live at once, seen from any node.
  EXPECT_EQ(states(n1),
            (std::map<std::string, std::string>{{"n1", "live"}, {"n2", "live"}, {id3, "live"}}));
  EXPECT_EQ(states(*n3), states(n1));
  const auto table = cluster_status(*n2, /*as_json=*/false);
  ASSERT_EQ(table.status, 0) << table;
  EXPECT_NE(table.out.find("n2 *"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("http://127.0.0.1:" + std::to_string(n1.port())), std::string::npos)
      << table.out;
  const int64_t token3 = node_row(n1, id3)["FencingToken"];

  // SIGKILL: no goodbye; dead once the lease renewed at its last heartbeat runs out.
  const auto killed = std::chrono::steady_clock::now();
  n3->stop(SIGKILL);
  ASSERT_TRUE(eventually([&] { return node_row(n1, id3)["State"] == "dead"; }, 5s));
  const auto to_dead = std::chrono::steady_clock::now() - killed;
  std::cout << "figure: SIGKILL to dead with a 2 s lease: "
            << std::chrono::duration_cast<std::chrono::milliseconds>(to_dead).count() << " ms\n";
  // Its last renewal was at most a third of a lease before the kill: dead between 2/3 of a lease
  // and a lease later (the bounds leave slack for a loaded machine).
  EXPECT_GE(to_dead, 500ms);
  EXPECT_LE(to_dead, 3s);
  // The survivors renew on: still live two leases later.
  std::this_thread::sleep_for(4s);
  EXPECT_EQ(states(n2.operator*()),
            (std::map<std::string, std::string>{{"n1", "live"}, {"n2", "live"}, {id3, "dead"}}));

  // SIGTERM: the node marks itself left before draining.
  n2->stop();
  n2.reset();
  EXPECT_EQ(node_row(n1, "n2")["State"], "left");
  EXPECT_EQ(states(n1)["n1"], "live");

  // Restarted on the same state dir (which also cleans up what the SIGKILL left): the same id,
  // live again under a greater fencing token.
  n3 = std::make_unique<DaemonProcess>(cluster_args(pg), state3.path(), cgroup3);
  const json back = node_row(n1, id3);
  EXPECT_EQ(back["State"], "live");
  EXPECT_GT(back["FencingToken"].get<int64_t>(), token3);
  n3->stop();
  EXPECT_TRUE(testsupport::leftovers(cgroup3, state3.path()).empty());
  EXPECT_EQ(node_row(n1, id3)["State"], "left");
}

TEST(DaemonClusterTest, WithoutClusterTheStatusRouteAnswersALambdaError) {
  DaemonProcess d;
  auto r = d.client().Get("/runtimed/v1/cluster");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(testsupport::header(r, "x-amzn-ErrorType"), "ResourceNotFoundException");
  EXPECT_NE(testsupport::body_json(r)["message"].get<std::string>().find("--cluster"),
            std::string::npos)
      << r->body;
  const auto run = cluster_status(d);
  EXPECT_EQ(run.status, 2) << run;
  EXPECT_NE(run.err.find("Cluster mode is off"), std::string::npos) << run;
}

TEST(DaemonClusterTest, AnUnreachableDatabaseLetsTheDaemonServeAndItJoinsWhenTheDatabaseIsBack) {
  testsupport::PostgresServer pg(/*start_now=*/false);
  const auto started = std::chrono::steady_clock::now();
  DaemonProcess d(with(cluster_args(pg), {"--node-id", "lonely"}));
  const auto start_time = std::chrono::steady_clock::now() - started;
  std::cout << "figure: serve start with the database unreachable: "
            << std::chrono::duration_cast<std::chrono::milliseconds>(start_time).count() << " ms\n";
  EXPECT_LT(start_time, 10s);
  EXPECT_EQ(d.health()["status"], "ok");
  auto r = d.client().Get("/runtimed/v1/cluster");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(testsupport::header(r, "x-amzn-ErrorType"), "ServiceException");
  pg.start();
  ASSERT_TRUE(eventually([&] { return node_row(d, "lonely")["State"] == "live"; }, 15s))
      << d.daemon_log();
}

// With --credentials the nodes and their addresses are an admin key's to read, as /metrics is.
TEST(DaemonClusterTest, WithCredentialsOnlyAnAdminKeyReadsTheCluster) {
  testsupport::PostgresServer pg;
  testsupport::TempDir dir("rt-cluster-auth");
  const auto credentials = dir.path() / "credentials";
  std::ofstream(credentials) << "[AKIAUSER]\nsecret_access_key = user-secret\n"
                             << "account_id = 000000000000\n\n"
                             << "[AKIAADMIN]\nsecret_access_key = admin-secret\n"
                             << "account_id = 000000000000\nadmin = true\n";
  ::chmod(credentials.c_str(), 0600);
  DaemonProcess d(with(cluster_args(pg), {"--node-id", "n1", "--credentials", credentials}));
  const std::vector<std::string> status = {
      testsupport::bin_path("runtimed").string(),    "cluster", "status", "--json", "--endpoint",
      "http://127.0.0.1:" + std::to_string(d.port())};
  const auto as_user = testsupport::run_command(
      status,
      std::vector<std::string>{"AWS_ACCESS_KEY_ID=AKIAUSER", "AWS_SECRET_ACCESS_KEY=user-secret"});
  EXPECT_EQ(as_user.status, 2) << as_user;
  EXPECT_NE(as_user.err.find("AccessDeniedException"), std::string::npos) << as_user;
  const auto as_admin = testsupport::run_command(
      status, std::vector<std::string>{"AWS_ACCESS_KEY_ID=AKIAADMIN",
                                       "AWS_SECRET_ACCESS_KEY=admin-secret"});
  ASSERT_EQ(as_admin.status, 0) << as_admin;
  EXPECT_EQ(json::parse(as_admin.out)["Nodes"][0]["State"], "live") << as_admin.out;
}

TEST(DaemonClusterTest, ABadClusterUrlIsAUsageError) {
  testsupport::TempDir state("rt-cluster-bad-url");
  // Refused before the sandbox host opens: nothing of the cgroup parent is made.
  const auto run = testsupport::run_command(
      {testsupport::bin_path("runtimed").string(), "serve", "--cluster", "postgresql://[nope",
       "--listen", "127.0.0.1:0", "--state-dir", state.path().string(), "--cgroup-parent",
       "rt-dtest-" + common::random_hex(8)});
  EXPECT_EQ(run.status, 2) << run;
  EXPECT_NE(run.err.find("--cluster"), std::string::npos) << run;
}

// The address other nodes see: --cluster-advertise when given, and required when --listen is on
// every address (which no other node could call); a malformed one is a usage error.
TEST(DaemonClusterTest, AnAdvertisedUrlIsWhatTheOtherNodesSee) {
  testsupport::PostgresServer pg;
  DaemonProcess n1(with(cluster_args(pg),
                        {"--node-id", "n1", "--cluster-advertise", "http://node-1.example:9000"}));
  EXPECT_EQ(node_row(n1, "n1")["Address"], "http://node-1.example:9000") << node_row(n1, "n1");
  for (const auto& [listen, advertise] :
       std::vector<std::pair<std::string, std::string>>{{"0.0.0.0:0", ""},
                                                        {"127.0.0.1:0", "node-1:9000"},
                                                        {"127.0.0.1:0", "http://node-1/api"}}) {
    testsupport::TempDir state("rt-cluster-advertise");
    std::vector<std::string> args = {testsupport::bin_path("runtimed").string(),
                                     "serve",
                                     "--cluster",
                                     pg.url(),
                                     "--listen",
                                     listen,
                                     "--state-dir",
                                     state.path().string(),
                                     "--cgroup-parent",
                                     "rt-dtest-" + common::random_hex(8)};
    if (!advertise.empty()) args.insert(args.end(), {"--cluster-advertise", advertise});
    if (listen.starts_with("0.0.0.0")) {
      // Any address needs keys (docs/security.md): so the refusal tested is the cluster's.
      const auto credentials = state.path() / "credentials";
      std::ofstream(credentials) << "[AKIAADMIN]\nsecret_access_key = s\naccount_id = "
                                    "000000000000\nadmin = true\n";
      ::chmod(credentials.c_str(), 0600);
      args.insert(args.end(), {"--credentials", credentials.string()});
    }
    const auto run = testsupport::run_command(args);
    EXPECT_EQ(run.status, 2) << listen << " " << advertise << run;
    EXPECT_NE(run.err.find("--cluster-advertise"), std::string::npos) << run;
  }
}

}  // namespace
