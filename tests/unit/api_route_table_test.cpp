// The route table: path patterns, captures, precedence and method mismatches.
#include <gtest/gtest.h>

#include <string>

#include "api/route_table.hpp"

namespace {

using api::PathParams;
using api::PathPattern;
using api::RouteExecution;

using Table = api::RouteTable<std::string>;  // the "handler" names the route

TEST(RouteTable, LiteralPatternsMatchOnlyTheWholePath) {
  PathPattern p("/runtimed/v1/health");
  PathParams params;
  EXPECT_TRUE(p.match("/runtimed/v1/health", &params));
  EXPECT_FALSE(p.match("/runtimed/v1/health/", &params));
  EXPECT_FALSE(p.match("/runtimed/v1", &params));
  EXPECT_FALSE(p.match("/runtimed/v1/healthz", &params));
  EXPECT_FALSE(p.match("runtimed/v1/health", &params));
  EXPECT_FALSE(p.match("", &params));
}

TEST(RouteTable, ATrailingSlashIsItsOwnEmptySegment) {
  PathParams params;
  EXPECT_TRUE(PathPattern("/2015-03-31/functions/").match("/2015-03-31/functions/", &params));
  EXPECT_FALSE(PathPattern("/2015-03-31/functions/").match("/2015-03-31/functions", &params));
}

TEST(RouteTable, OneSegmentCaptureTakesOneNonEmptySegment) {
  PathPattern p("/2015-03-31/functions/{name}/configuration");
  PathParams params;
  ASSERT_TRUE(p.match("/2015-03-31/functions/my-fn/configuration", &params));
  EXPECT_EQ(params.get("name"), "my-fn");
  EXPECT_EQ(params.get("other"), "");
  EXPECT_FALSE(p.match("/2015-03-31/functions//configuration", &params));
  EXPECT_FALSE(p.match("/2015-03-31/functions/a/b/configuration", &params));
  // A failed match leaves the caller's params alone.
  EXPECT_EQ(params.get("name"), "my-fn");
}

TEST(RouteTable, CapturesAreTakenAsDecodedByTheServerNotDecodedAgain) {
  PathPattern p("/f/{name}");
  PathParams params;
  ASSERT_TRUE(p.match("/f/arn:aws:lambda:us-east-1:000000000000:function:a%41", &params));
  EXPECT_EQ(params.get("name"), "arn:aws:lambda:us-east-1:000000000000:function:a%41");
}

TEST(RouteTable, RestCaptureTakesSeveralSegmentsAndLeavesTheSuffix) {
  PathPattern p("/runtimed/v1/functions/{name...}/logs");
  PathParams params;
  ASSERT_TRUE(p.match("/runtimed/v1/functions/fn/logs", &params));
  EXPECT_EQ(params.get("name"), "fn");
  ASSERT_TRUE(p.match("/runtimed/v1/functions/a/b/logs", &params));
  EXPECT_EQ(params.get("name"), "a/b");
  // Longest first: a name may itself end in "logs".
  ASSERT_TRUE(p.match("/runtimed/v1/functions/a/logs/logs", &params));
  EXPECT_EQ(params.get("name"), "a/logs");
  EXPECT_FALSE(p.match("/runtimed/v1/functions/logs", &params));
  EXPECT_FALSE(p.match("/runtimed/v1/functions//logs", &params)) << "the captured text is empty";
  EXPECT_FALSE(p.match("/runtimed/v1/functions/fn/log", &params));
}

TEST(RouteTable, RestCaptureAtTheEndTakesEverythingNonEmpty) {
  PathPattern p("/runtimed/v1/queues/{rest...}");
  PathParams params;
  ASSERT_TRUE(p.match("/runtimed/v1/queues/q/messages/h", &params));
  EXPECT_EQ(params.get("rest"), "q/messages/h");
  ASSERT_TRUE(p.match("/runtimed/v1/queues//", &params));
  EXPECT_EQ(params.get("rest"), "/");
  EXPECT_FALSE(p.match("/runtimed/v1/queues/", &params));
  EXPECT_FALSE(p.match("/runtimed/v1/queues", &params));
}

TEST(RouteTable, SeveralCapturesKeepPatternOrder) {
  PathPattern p("/2018-10-31/layers/{layer}/versions/{version}");
  PathParams params;
  ASSERT_TRUE(p.match("/2018-10-31/layers/l1/versions/3", &params));
  ASSERT_EQ(params.size(), 2u);
  EXPECT_EQ(params.get("layer"), "l1");
  EXPECT_EQ(params.get("version"), "3");
}

TEST(RouteTable, MalformedPatternsAreRefused) {
  for (const char* bad :
       {"no-slash", "/a/{", "/a/{}", "/a/{x", "/a/x}", "/a/{x}y", "/a/{...}", "/a/pre{x}"}) {
    EXPECT_THROW(PathPattern{bad}, std::invalid_argument) << bad;
  }
}

TEST(RouteTable, FirstMatchingRouteWins) {
  Table table;
  table.add("GET", "/runtimed/v1/functions/{name...}/async", RouteExecution::kBlocking, "async")
      .add("GET", "/runtimed/v1/functions/{name...}/logs", RouteExecution::kBlocking, "logs")
      .add("GET", "/runtimed/v1/functions/special/logs", RouteExecution::kIoThread, "shadowed");
  auto m = table.find("GET", "/runtimed/v1/functions/special/logs");
  ASSERT_NE(m.route, nullptr);
  EXPECT_TRUE(m.method_matches);
  EXPECT_EQ(m.route->handler, "logs");
  EXPECT_EQ(m.params.get("name"), "special");
  m = table.find("GET", "/runtimed/v1/functions/x/logs/async");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->handler, "async");
  EXPECT_EQ(m.params.get("name"), "x/logs");
}

TEST(RouteTable, MethodsSelectAmongRoutesOfOnePath) {
  Table table;
  table.add("POST", "/2015-03-31/functions", RouteExecution::kBlocking, "CreateFunction")
      .add("GET", "/2015-03-31/functions", RouteExecution::kBlocking, "ListFunctions")
      .add("*", "/runtimed/v1/health", RouteExecution::kIoThread, "health");
  auto m = table.find("GET", "/2015-03-31/functions");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->handler, "ListFunctions");
  EXPECT_EQ(m.route->execution, RouteExecution::kBlocking);
  m = table.find("POST", "/2015-03-31/functions");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->handler, "CreateFunction");
  for (const char* method : {"GET", "DELETE", "PATCH"}) {
    m = table.find(method, "/runtimed/v1/health");
    ASSERT_NE(m.route, nullptr) << method;
    EXPECT_TRUE(m.method_matches) << method;
    EXPECT_EQ(m.route->execution, RouteExecution::kIoThread);
  }
}

TEST(RouteTable, AWrongMethodFindsThePathsFirstRouteWithoutAMethodMatch) {
  Table table;
  table.add("POST", "/f/{name}/invocations", RouteExecution::kIoThread, "Invoke")
      .add("PUT", "/f/{name}/invocations", RouteExecution::kIoThread, "Other");
  auto m = table.find("GET", "/f/fn/invocations");
  ASSERT_NE(m.route, nullptr);
  EXPECT_FALSE(m.method_matches);
  EXPECT_EQ(m.route->handler, "Invoke");
  EXPECT_EQ(m.params.get("name"), "fn");
  // The method is compared exactly, as HTTP methods are case-sensitive.
  EXPECT_FALSE(table.find("post", "/f/fn/invocations").method_matches);
}

TEST(RouteTable, AnUnknownPathFindsNoRoute) {
  Table table;
  table.add("GET", "/2015-03-31/functions/{name}", RouteExecution::kBlocking, "GetFunction");
  EXPECT_EQ(table.find("GET", "/2015-03-31/functions/a/b").route, nullptr);
  EXPECT_EQ(table.find("GET", "/nowhere").route, nullptr);
  EXPECT_EQ(table.find("GET", "").route, nullptr);
  EXPECT_EQ(Table().find("GET", "/").route, nullptr);
}

}  // namespace
