// Cluster mode's shared catalog end to end: two real `runtimed serve --cluster` nodes on a
// PostgreSQL of the test's own. What is created, changed or deleted through one node is what the
// other serves: its code (fetched by SHA-256 from the database), its configuration, versions,
// aliases and reserved concurrency; and a node keeps serving warm calls while the database is
// down.
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "tests/eventually.hpp"
#include "tests/integration/daemon_process.hpp"
#include "tests/integration/postgres_server.hpp"

namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testsupport::body_json;
using testsupport::DaemonProcess;
using testsupport::eventually;
using testsupport::header;

std::vector<std::string> node_args(const testsupport::PostgresServer& pg, const std::string& id) {
  return {"--cluster", pg.url(), "--cluster-lease-seconds", "2", "--node-id", id};
}

// USER_COLOR as the function's environment shows it, through `node`.
std::string color(const DaemonProcess& node, const std::string& function) {
  auto r = node.invoke(function, R"({"action":"env"})");
  if (!r || r->status != 200) return r ? "status " + std::to_string(r->status) : "no answer";
  const json env = json::parse(r->body, nullptr, false);
  return env.is_object() && env.value("USER_COLOR", json()).is_string()
             ? env["USER_COLOR"].get<std::string>()
             : r->body;
}

int put_json(const DaemonProcess& node, const std::string& path, const json& body) {
  auto r = node.client().Put(path, body.dump(), "application/json");
  return r ? r->status : -1;
}

int post_json(const DaemonProcess& node, const std::string& path, const json& body) {
  auto r = node.client().Post(path, body.dump(), "application/json");
  return r ? r->status : -1;
}

TEST(DaemonClusterCatalogTest, WhatOneNodeChangesTheOtherServes) {
  testsupport::PostgresServer pg;
  DaemonProcess n1(node_args(pg, "n1"));
  DaemonProcess n2(node_args(pg, "n2"));

  ASSERT_EQ(
      n1.create_function("shared", {{"Environment", {{"Variables", {{"USER_COLOR", "red"}}}}}}),
      201);
  // n2 never saw the zip: it fetches it from the database by its SHA-256 on first use.
  auto got1 = n1.client().Get("/2015-03-31/functions/shared");
  auto got2 = n2.client().Get("/2015-03-31/functions/shared");
  ASSERT_EQ(got2->status, 200) << got2->body;
  EXPECT_EQ(body_json(got2)["Configuration"]["CodeSha256"],
            body_json(got1)["Configuration"]["CodeSha256"]);
  EXPECT_EQ(body_json(got2)["Configuration"]["RevisionId"],
            body_json(got1)["Configuration"]["RevisionId"]);
  EXPECT_EQ(color(n2, "shared"), "red");
  auto listed = n2.client().Get("/2015-03-31/functions");
  ASSERT_EQ(listed->status, 200);
  EXPECT_EQ(body_json(listed)["Functions"].size(), 1u) << listed->body;

  // A change on n1 reaches n2's warm environments through the database's notification.
  ASSERT_EQ(put_json(n1, "/2015-03-31/functions/shared/configuration",
                     {{"Environment", {{"Variables", {{"USER_COLOR", "blue"}}}}}}),
            200);
  const auto changed = std::chrono::steady_clock::now();
  ASSERT_TRUE(eventually([&] { return color(n2, "shared") == "blue"; }, 5s));
  std::cout << "figure: a configuration change on n1 served by n2 after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - changed)
                   .count()
            << " ms\n";

  // Versions and aliases made on n1 are invoked through n2.
  ASSERT_EQ(post_json(n1, "/2015-03-31/functions/shared/versions", json::object()), 201);
  ASSERT_EQ(post_json(n1, "/2015-03-31/functions/shared/aliases",
                      {{"Name", "live"}, {"FunctionVersion", "1"}}),
            201);
  ASSERT_TRUE(eventually([&] { return color(n2, "shared:live") == "blue"; }, 5s));
  EXPECT_EQ(color(n2, "shared:1"), "blue");

  // Reserved concurrency 0 set through n2 throttles the function on n1.
  ASSERT_EQ(put_json(n2, "/2017-10-31/functions/shared/concurrency",
                     {{"ReservedConcurrentExecutions", 0}}),
            200);
  ASSERT_TRUE(eventually(
      [&] {
        auto r = n1.invoke("shared", "{}");
        return r && r->status == 429 &&
               header(r, "x-amzn-ErrorType").starts_with("TooManyRequestsException");
      },
      5s));
  auto deleted = n1.client().Delete("/2017-10-31/functions/shared/concurrency");
  ASSERT_EQ(deleted->status, 204);
  ASSERT_TRUE(eventually([&] { return n2.invoke("shared", "{}")->status == 200; }, 5s));

  // A layer published through n1 (a runtime: its bootstrap) carries a function made on n2.
  auto layer = n1.client().Post(
      "/2018-10-31/layers/runtime/versions",
      json{{"Content", {{"ZipFile", common::base64_encode(testsupport::function_zip())}}}}.dump(),
      "application/json");
  ASSERT_EQ(layer->status, 201) << layer->body;
  auto again = n1.client().Post(
      "/2018-10-31/layers/runtime/versions",
      json{{"Content", {{"ZipFile", common::base64_encode(testsupport::function_zip())}}}}.dump(),
      "application/json");
  ASSERT_EQ(again->status, 201) << again->body;
  EXPECT_EQ(body_json(again)["Version"], 2);  // numbered in the database, not per node
  ASSERT_EQ(n2.create_function("layered",
                               {{"Layers", {body_json(layer)["LayerVersionArn"]}},
                                {"Environment", {{"Variables", {{"USER_COLOR", "green"}}}}}},
                               testsupport::zip_of({{"README", "code without a bootstrap"}})),
            201);
  EXPECT_EQ(color(n2, "layered"), "green");
  EXPECT_EQ(color(n1, "layered"), "green");

  // Deleted through n1: gone from n2, and so are its versions.
  ASSERT_EQ(n1.client().Delete("/2015-03-31/functions/shared")->status, 204);
  ASSERT_TRUE(eventually([&] { return n2.invoke("shared", "{}")->status == 404; }, 5s));
  EXPECT_EQ(n2.invoke("shared:1", "{}")->status, 404);
  EXPECT_EQ(n2.client().Get("/2015-03-31/functions/shared")->status, 404);
  EXPECT_EQ(n1.stop(), 0);
  EXPECT_EQ(n2.stop(), 0);
}

TEST(DaemonClusterCatalogTest, WarmCallsGoOnWhileTheDatabaseIsDown) {
  testsupport::PostgresServer pg;
  DaemonProcess n1(node_args(pg, "n1"));
  ASSERT_EQ(n1.create_function("steady"), 201);
  ASSERT_EQ(n1.invoke("steady", "{}")->status, 200);

  pg.stop();
  // The configuration is cached: no call needs the database.
  for (int i = 0; i < 20; ++i) {
    auto r = n1.invoke("steady", R"({"n":1})");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
  }
  // A change does need it: a Lambda-shaped server error, at once, not a hang.
  const auto asked = std::chrono::steady_clock::now();
  EXPECT_EQ(n1.create_function("late"), 500);
  EXPECT_LT(std::chrono::steady_clock::now() - asked, 10s);
  // So does accepting an event: refused (nothing accepted, nothing to lose) with a 503 AWS SDKs
  // retry, never a 202 for an event that was not stored.
  auto event = n1.invoke("steady", "{}", {{"X-Amz-Invocation-Type", "Event"}});
  ASSERT_TRUE(event);
  EXPECT_EQ(event->status, 503);
  EXPECT_EQ(header(event, "x-amzn-ErrorType"), "ServiceException");

  pg.start();
  ASSERT_TRUE(eventually([&] { return n1.create_function("late") == 201; }, 10s));
  EXPECT_EQ(n1.invoke("late", "{}")->status, 200);
  EXPECT_EQ(n1.invoke("steady", "{}", {{"X-Amz-Invocation-Type", "Event"}})->status, 202);
  EXPECT_EQ(n1.stop(), 0);
}

// PublishVersion through two nodes at once: one version per change of $LATEST, every call
// answered 201 with it (the racing ones find it published), never a 500 from two nodes taking
// the same number.
TEST(DaemonClusterCatalogTest, VersionsPublishedThroughTwoNodesAtOnceAreNumberedOnce) {
  testsupport::PostgresServer pg;
  DaemonProcess n1(node_args(pg, "n1"));
  DaemonProcess n2(node_args(pg, "n2"));
  ASSERT_EQ(n1.create_function("racy"), 201);
  for (int round = 1; round <= 3; ++round) {
    if (round > 1) {
      auto changed = n1.client().Put("/2015-03-31/functions/racy/configuration",
                                     json{{"Description", "round " + std::to_string(round)}}.dump(),
                                     "application/json");
      ASSERT_EQ(changed->status, 200) << changed->body;
    }
    std::mutex m;
    std::map<std::string, int> answers;  // "status version"
    {
      std::vector<std::jthread> publishers;
      for (int i = 0; i < 8; ++i)
        publishers.emplace_back([&, i] {
          const DaemonProcess& node = i % 2 ? n2 : n1;
          auto r =
              node.client().Post("/2015-03-31/functions/racy/versions", "{}", "application/json");
          const std::string answer =
              r ? std::to_string(r->status) + " " +
                      (r->status == 201 ? body_json(r)["Version"].get<std::string>() : r->body)
                : "no answer";
          std::lock_guard lock(m);
          ++answers[answer];
        });
    }
    EXPECT_EQ(answers, (std::map<std::string, int>{{"201 " + std::to_string(round), 8}}));
  }
  EXPECT_EQ(n1.stop(), 0);
  EXPECT_EQ(n2.stop(), 0);
}

}  // namespace
