// Hostile or careless client input against the real daemon: numbers that are not numbers, ARNs of
// other regions and accounts, Lambda operations runtimed lacks, code packages past the file
// system's limits, a full code store and a full disk; and whole log lines from concurrent
// environments.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <cstring>
#include <fstream>
#include <future>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "runtimed/store/disk_budget.hpp"
#include "tests/integration/daemon_test.hpp"
#include "tests/unit/test_zip.hpp"

namespace {

using namespace testsupport;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

void expect_error(const httplib::Result& r, int status, const std::string& type,
                  const std::string& message_part = "") {
  ASSERT_TRUE(r) << "no response";
  EXPECT_EQ(r->status, status) << r->body;
  EXPECT_EQ(header(r, "x-amzn-ErrorType"), type) << r->body;
  if (!message_part.empty()) {
    auto body = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << r->body;
    EXPECT_THAT(body.value("message", ""), HasSubstr(message_part));
  }
}

class DaemonApiHardeningTest : public DaemonTest {};

TEST_F(DaemonApiHardeningTest, LogNumbersThatAreNotNumbersAnswer400AndTheDaemonLives) {
  start();
  ASSERT_EQ(daemon_->create_function("fn"), 201);
  auto c = daemon_->client();
  for (const char* query : {"offset=abc", "tail=x", "offset=-1", "tail=1e3", "offset=12abc",
                            "offset=99999999999999999999999999", "tail="}) {
    SCOPED_TRACE(query);
    auto r = c.Get(std::string("/runtimed/v1/functions/fn/logs?") + query);
    if (std::string(query) == "tail=") {
      ASSERT_TRUE(r);
      EXPECT_EQ(r->status, 200);  // an empty parameter is no parameter
      continue;
    }
    expect_error(r, 400, "InvalidParameterValueException", "non-negative integers");
  }
  expect_error(c.Get("/2015-03-31/functions/?MaxItems=abc"), 400, "InvalidParameterValueException",
               "maxItems");
  expect_error(c.Get("/2015-03-31/functions/?MaxItems=99999999999999999999"), 400,
               "InvalidParameterValueException", "maxItems");
  auto health = c.Get("/runtimed/v1/health");
  ASSERT_TRUE(health) << "the daemon died";
  EXPECT_EQ(health->status, 200);
}

// Every route that takes a FunctionName reads it the same way, with this daemon's region and
// account: its own ARNs find the function, anyone else's do not, malformed ones are a 400.
TEST_F(DaemonApiHardeningTest, EveryRouteResolvesNamesAndArnsTheSameWay) {
  start({"--region", "eu-central-1", "--account-id", "123456789012"});
  ASSERT_EQ(daemon_->create_function("foo"), 201);
  auto c = daemon_->client();
  // (method, path with NAME, body, success status)
  struct Route {
    std::string method, path, body;
    int ok;
  };
  const std::vector<Route> routes = {
      {"POST", "/2015-03-31/functions/NAME/invocations", "{}", 200},
      {"GET", "/2015-03-31/functions/NAME", "", 200},
      {"GET", "/2015-03-31/functions/NAME/configuration", "", 200},
      {"PUT", "/2017-10-31/functions/NAME/concurrency", R"({"ReservedConcurrentExecutions":5})",
       200},
      {"GET", "/2019-09-30/functions/NAME/concurrency", "", 200},
      {"PUT", "/2019-09-25/functions/NAME/event-invoke-config", R"({"MaximumRetryAttempts":1})",
       200},
      {"GET", "/2019-09-25/functions/NAME/event-invoke-config", "", 200},
      {"GET", "/runtimed/v1/functions/NAME/logs", "", 200},
  };
  auto call = [&](const Route& r, const std::string& id) {
    std::string path = r.path;
    path.replace(path.find("NAME"), 4, id);
    if (r.method == "GET") return c.Get(path);
    if (r.method == "PUT") return c.Put(path, r.body, "application/json");
    return c.Post(path, r.body, "application/json");
  };
  for (const char* id : {"foo", "foo:$LATEST", "123456789012:function:foo",
                         "arn:aws:lambda:eu-central-1:123456789012:function:foo",
                         "arn:aws:lambda:eu-central-1:123456789012:function:foo:$LATEST"}) {
    for (const auto& r : routes) {
      SCOPED_TRACE(r.method + " " + r.path + " as " + id);
      auto res = call(r, id);
      ASSERT_TRUE(res);
      EXPECT_EQ(res->status, r.ok) << res->body;
    }
  }
  for (const char* id : {"arn:aws:lambda:eu-west-1:123456789012:function:foo",
                         "arn:aws:lambda:eu-central-1:111111111111:function:foo",
                         "arn:aws:lambda:us-east-1:000000000000:function:foo:$LATEST",
                         "111111111111:function:foo"}) {
    for (const auto& r : routes) {
      SCOPED_TRACE(r.method + " " + r.path + " as " + id);
      expect_error(call(r, id), 404, "ResourceNotFoundException", "Function not found");
    }
    // Event and DryRun invocations too: nothing is queued for somebody else's function.
    for (const char* type : {"Event", "DryRun"}) {
      SCOPED_TRACE(std::string(type) + " " + id);
      expect_error(daemon_->invoke(id, "{}", {{"X-Amz-Invocation-Type", type}}), 404,
                   "ResourceNotFoundException");
    }
  }
  for (const char* id :
       {"a:b:c:d:e", "12345:function:foo", "arn:aws:lambda:eu-central-1:123456789012:layer:foo"}) {
    for (const auto& r : routes) {
      SCOPED_TRACE(r.method + " " + r.path + " as " + id);
      expect_error(call(r, id), 400, "InvalidParameterValueException", "functionName");
    }
  }
}

TEST_F(DaemonApiHardeningTest, UnimplementedLambdaOperationsAre501AndUnknownPathsAreNotAMissingFn) {
  start();
  ASSERT_EQ(daemon_->create_function("fn"), 201);
  auto c = daemon_->client();
  struct Case {
    std::string method, path, operation;
  };
  for (const Case& k : std::vector<Case>{
           {"GET", "/2015-03-31/functions/fn/policy", "GetPolicy"},
           {"GET", "/2018-10-31/layers/l/versions/1/policy", "GetLayerVersionPolicy"},
           {"POST", "/2014-11-13/functions/fn/invoke-async", "InvokeAsync"},
           {"GET", "/2024-08-31/functions/fn/recursion-config", "GetFunctionRecursionConfig"},
           {"GET", "/2020-06-30/functions/fn/code-signing-config", "GetFunctionCodeSigningConfig"},
       }) {
    SCOPED_TRACE(k.method + " " + k.path);
    auto r = k.method == "GET" ? c.Get(k.path) : c.Post(k.path, "{}", "application/json");
    expect_error(r, 501, "NotImplementedException", k.operation);
  }
  for (auto [method, path] :
       {std::pair{"GET", "/no/such/route"}, std::pair{"GET", "/2015-03-31/functions/fn/nonsense"},
        std::pair{"PATCH", "/2015-03-31/functions/fn"}}) {
    SCOPED_TRACE(std::string(method) + " " + path);
    httplib::Request req;
    req.method = method;
    req.path = path;
    httplib::Response res;
    httplib::Error err = httplib::Error::Success;
    ASSERT_TRUE(c.send(req, res, err)) << httplib::to_string(err);
    EXPECT_EQ(res.status, 404);
    EXPECT_EQ(res.get_header_value("x-amzn-ErrorType"), "UnknownOperationException");
  }
}

// Four environments of one function write lines in pieces at the same time: the function's log
// holds every line whole, and a line left without its newline ends before its invocation's END.
TEST_F(DaemonApiHardeningTest, ConcurrentEnvironmentsLogWholeLines) {
  start();
  ASSERT_EQ(daemon_->create_function("fn"), 201);
  constexpr int kEnvs = 4, kRounds = 2, kLines = 150;
  std::vector<std::future<std::string>> calls;
  for (int e = 0; e < kEnvs; ++e) {
    calls.push_back(std::async(std::launch::async, [&, e] {
      std::string tails;
      for (int round = 0; round < kRounds; ++round) {
        const std::string tag = "t" + std::to_string(e) + "r" + std::to_string(round);
        auto r = daemon_->invoke(
            "fn", json{{"action", "fragments"}, {"lines", kLines}, {"tag", tag}}.dump(),
            {{"X-Amz-Log-Type", "Tail"}});
        if (!r || r->status != 200) return std::string("failed: ") + (r ? r->body : "no response");
        tails += *common::base64_decode(r->get_header_value("X-Amz-Log-Result"));
      }
      return tails;
    }));
  }
  std::vector<std::string> tails;
  for (auto& f : calls) tails.push_back(f.get());
  for (const auto& t : tails) {
    ASSERT_THAT(t, Not(HasSubstr("failed: "))) << t;
    // This invocation's unterminated line is its own line, right before END.
    EXPECT_TRUE(std::regex_search(t, std::regex("\nunterminated t\\d+r\\d+\nEND RequestId: ")))
        << t.substr(t.size() > 600 ? t.size() - 600 : 0);
  }

  const std::string log = daemon_->function_log("fn");
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(log.back(), '\n');
  const std::regex whole(
      "START RequestId: [0-9a-f-]+ Version: \\$LATEST|END RequestId: [0-9a-f-]+|"
      "REPORT RequestId: [0-9a-f-]+\t.*|frag (t\\d+r\\d+) (\\d+) middle end|unterminated "
      "t\\d+r\\d+");
  std::map<std::string, int> frags;
  int unterminated = 0, bad = 0;
  std::istringstream in(log);
  std::string line, first_bad;
  while (std::getline(in, line)) {
    std::smatch m;
    if (!std::regex_match(line, m, whole)) {
      if (bad++ == 0) first_bad = line;
      continue;
    }
    if (m[1].matched) ++frags[m[1]];
    if (line.starts_with("unterminated")) ++unterminated;
  }
  EXPECT_EQ(bad, 0) << "first spliced line: '" << first_bad << "'";
  EXPECT_EQ(unterminated, kEnvs * kRounds);
  EXPECT_EQ(frags.size(), static_cast<size_t>(kEnvs * kRounds));
  for (const auto& [tag, n] : frags) EXPECT_EQ(n, kLines) << tag;
}

TEST_F(DaemonApiHardeningTest, LogsSayWhereTheirTextStarts) {
  start();
  ASSERT_EQ(daemon_->create_function("fn"), 201);
  // ~100 KiB of log: more than the default 64 KiB window.
  for (int i = 0; i < 5; ++i) {
    auto r =
        daemon_->invoke("fn", json{{"action", "print"}, {"text", std::string(10000, 'x')}}.dump());
    ASSERT_EQ(r->status, 200) << r->body;
  }
  auto c = daemon_->client();
  auto last = c.Get("/runtimed/v1/functions/fn/logs");
  ASSERT_TRUE(last);
  EXPECT_EQ(last->status, 200);
  EXPECT_NE(header(last, "X-Runtimed-Log-Start"), "0");
  EXPECT_EQ(std::stoull(header(last, "X-Runtimed-Log-Start")) + last->body.size(),
            std::stoull(header(last, "X-Runtimed-Log-Offset")));
  auto all = c.Get("/runtimed/v1/functions/fn/logs?offset=0");
  ASSERT_TRUE(all);
  EXPECT_EQ(header(all, "X-Runtimed-Log-Start"), "0");
  EXPECT_EQ(all->body, daemon_->function_log("fn"));
}

// ---- code packages and disk ----

std::string create_body(const std::string& name, const std::string& zip) {
  return json{{"FunctionName", name},
              {"Runtime", "provided.al2023"},
              {"Role", "arn:aws:iam::000000000000:role/test"},
              {"Code", {{"ZipFile", common::base64_encode(zip)}}}}
      .dump();
}

TEST_F(DaemonApiHardeningTest, CodePackagesPastTheLimitsAre400WithLambdasMessages) {
  start();
  auto c = daemon_->client();
  std::string deep;
  while (deep.size() < 5000) deep += std::string(200, 'd') + "/";
  std::vector<testzip::Entry> many;
  for (int i = 0; i < 65536; ++i) many.push_back(testzip::dir("d" + std::to_string(i) + "/"));
  struct Case {
    std::string what, zip, message;
  };
  for (const Case& k : std::vector<Case>{
           {"a name over NAME_MAX", testzip::make({testzip::file(std::string(256, 'n'), "x")}),
            "has a name longer than 255 bytes"},
           {"a path over PATH_MAX", testzip::make({testzip::file(deep + "f", "x")}),
            "has a path longer than"},
           {"65,536 entries", testzip::make(many), "more than 65535 entries"},
           {"zip slip", testzip::make({testzip::file("../../evil", "x")}), "contains '..'"},
           {"absolute path", testzip::make({testzip::file("/etc/evil", "x")}), "absolute path"},
           {"symlink outside", testzip::make({testzip::symlink("l", "/etc/shadow")}),
            "points outside"},
           {"unzipped over 250 MB",
            // One byte over Lambda's limit, on purpose.
            testzip::make({testzip::file(
                "zeros", std::string(262144001, '\0'))}),  // NOLINT(bugprone-string-constructor)
            "Unzipped size must be smaller than 262144000 bytes"},
       }) {
    SCOPED_TRACE(k.what);
    expect_error(c.Post("/2015-03-31/functions", create_body("fn", k.zip), "application/json"), 400,
                 "InvalidParameterValueException", k.message);
  }
  EXPECT_FALSE(std::filesystem::exists("/etc/evil"));
  // Nothing half-unpacked stays in the code store.
  size_t dirs = 0;
  for (const auto& e : std::filesystem::directory_iterator(daemon_->state_dir() / "code")) {
    (void)e;
    ++dirs;
  }
  EXPECT_EQ(dirs, 0u);
}

TEST_F(DaemonApiHardeningTest, FullCodeStoreAnswersCodeStorageExceeded) {
  start({"--max-code-store-mb", "3"});
  auto c = daemon_->client();
  ASSERT_EQ(daemon_->create_function("small"), 201);  // the C runtime, under 1 MB
  // ~2.5 MB unpacked that does not fit next to it.
  std::string noise(2500 * 1024, '\0');
  for (size_t i = 0; i < noise.size(); ++i) noise[i] = static_cast<char>((i * 2654435761u) >> 13);
  const std::string big = testzip::make({testzip::file("data", noise)});
  expect_error(c.Post("/2015-03-31/functions", create_body("big", big), "application/json"), 400,
               "CodeStorageExceededException", "Code storage limit exceeded");
  expect_error(c.Put("/2015-03-31/functions/small/code",
                     json{{"ZipFile", common::base64_encode(testzip::make(
                                          {testzip::file("data", noise),
                                           testzip::file("more", noise.substr(0, 1024 * 1024))}))}}
                         .dump(),
                     "application/json"),
               400, "CodeStorageExceededException");
  // Deleting the first function gives its room back.
  auto del = c.Delete("/2015-03-31/functions/small");
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 204);
  auto created = c.Post("/2015-03-31/functions", create_body("big", big), "application/json");
  ASSERT_TRUE(created);
  EXPECT_EQ(created->status, 201) << created->body;
}

TEST_F(DaemonApiHardeningTest, ColdStartWhoseTmpWouldNotFitOnDiskIs429) {
  // A reserve larger than any disk: no /tmp can be promised.
  start({"--disk-reserve-mb", std::to_string(1ull << 40)});
  ASSERT_EQ(daemon_->create_function("fn"), 201);
  auto r = daemon_->invoke("fn", "{}");
  expect_error(r, 429, "TooManyRequestsException", "Rate Exceeded");
  EXPECT_EQ(body_json(r)["Reason"], "EphemeralStorageLimitExceeded");
  EXPECT_FALSE(header(r, "Retry-After").empty());
}

// DiskBudget against a real, small file system: promises count against free space, and the
// blocks an image already holds count back in.
TEST(DiskBudgetTest, PromisesFitInFreeSpaceMinusTheReserve) {
  TempDir dir("rt-disk-budget");
  ASSERT_EQ(::mount("tmpfs", dir.path().c_str(), "tmpfs", 0, "size=64m"), 0) << strerror(errno);
  struct Unmount {
    std::filesystem::path p;
    ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } unmount{dir.path()};
  runtimed::DiskBudget budget(dir.path(), 8);
  auto a = budget.reserve(40);
  ASSERT_TRUE(a);
  EXPECT_EQ(budget.promised_mb(), 40u);
  EXPECT_FALSE(budget.reserve(20));  // 40 + 20 + 8 > 64
  a->release();
  EXPECT_EQ(budget.promised_mb(), 0u);
  auto b = budget.reserve(40);
  ASSERT_TRUE(b);
  // The environment writes 30 MB into its image: free space drops, its promise does not grow.
  std::filesystem::create_directories(dir.path() / "1");
  {
    std::ofstream img(dir.path() / "1" / "tmp.img", std::ios::binary);
    const std::string mb(1 << 20, 'w');
    for (int i = 0; i < 30; ++i) img << mb;
  }
  EXPECT_LT(runtimed::DiskBudget::free_bytes(dir.path()), 35ull << 20);
  EXPECT_FALSE(budget.reserve(20));  // 40 + 20 + 8 = 68 > 34 free + 30 held
  auto c = budget.reserve(10);       // 58 <= 64
  EXPECT_TRUE(c);
  {
    auto moved = std::move(*c);
    EXPECT_EQ(budget.promised_mb(), 50u);
  }
  EXPECT_EQ(budget.promised_mb(), 40u);
}

}  // namespace
