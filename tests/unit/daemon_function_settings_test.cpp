// FunctionSettings over a real SQLite database: the kinds of error it returns, and how the
// concurrency and event-invoke-config APIs answer them on the wire.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/concurrency_api.hpp"
#include "api/event_invoke_config_api.hpp"
#include "api/function_api.hpp"
#include "runtimed/store/function_settings.hpp"
#include "runtimed/store/function_store.hpp"
#include "tests/unit/test_zip.hpp"

namespace {

using common::StoreErrorKind;
using nlohmann::json;

constexpr char kMissingArn[] = "arn:aws:lambda:us-east-1:000000000000:function:missing";
constexpr char kTooLittleUnreserved[] =
    "Specified ReservedConcurrentExecutions for function decreases account's "
    "UnreservedConcurrentExecution below its minimum value of [10].";

std::string header(const api::HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "";
}

std::unique_ptr<runtimed::FunctionStore> open_store(const std::filesystem::path& dir) {
  auto opened = runtimed::FunctionStore::open(dir);
  if (!opened) throw std::runtime_error(opened.error());
  return std::move(*opened);
}

class FunctionSettingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    api::CreateFunctionRequest r;
    r.config.name = "fn";
    r.config.runtime = "provided.al2023";
    r.config.role = "arn:aws:iam::000000000000:role/r";
    r.zip = testzip::make({testzip::file("bootstrap", "v1", 0755)});
    auto created = store->create(std::move(r));
    ASSERT_TRUE(created) << created.error().message;
  }

  api::HttpResponse call(std::string method, std::string path, std::string body = {}) {
    api::HttpRequest req;
    req.method = std::move(method);
    req.path = std::move(path);
    req.body = std::move(body);
    if (api::ConcurrencyApi::matches(req)) return concurrency.handle(req, "rid");
    return event_invoke_configs.handle(req, "rid");
  }

  testzip::TempDir tmp;
  std::unique_ptr<runtimed::FunctionStore> store = open_store(tmp.path());
  runtimed::FunctionSettings settings{*store, /*concurrency_limit=*/100, /*min_unreserved=*/10};
  api::FunctionApi functions{*store, "us-east-1", "000000000000"};
  api::ConcurrencyApi concurrency{settings, functions};
  api::EventInvokeConfigApi event_invoke_configs{settings, functions};
};

TEST_F(FunctionSettingsTest, MissingFunctionIsNotFoundNamingIt) {
  for (const auto& error :
       {settings.reserved("missing").error(), settings.put_reserved("missing", 1).error(),
        settings.delete_reserved("missing").error(), settings.get("missing", "$LATEST").error(),
        settings.put("missing", "$LATEST", api::EventInvokeConfig{}).error()}) {
    EXPECT_EQ(error.kind, StoreErrorKind::NotFound) << error.message;
    EXPECT_EQ(error.resource, "missing");
  }
}

TEST_F(FunctionSettingsTest, ReservationLeavingTooLittleUnreservedIsInvalidValueAndNotStored) {
  auto refused = settings.put_reserved("fn", 91);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, StoreErrorKind::InvalidValue);
  EXPECT_EQ(refused.error().message, kTooLittleUnreserved);
  EXPECT_EQ(settings.reserved("fn").value(), std::nullopt);
  ASSERT_TRUE(settings.put_reserved("fn", 90));
  EXPECT_EQ(settings.reserved("fn").value(), 90);
}

TEST_F(FunctionSettingsTest, ConcurrencyApiAnswersAMissingFunctionWithItsArn) {
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/2019-09-30/functions/missing/concurrency"},
           {"DELETE", "/2017-10-31/functions/missing/concurrency"}}) {
    const auto r = call(method, path);
    EXPECT_EQ(r.status, 404) << method;
    EXPECT_EQ(header(r, "x-amzn-ErrorType"), "ResourceNotFoundException");
    EXPECT_EQ(
        json::parse(r.body),
        (json{{"Type", "User"}, {"message", std::string("Function not found: ") + kMissingArn}}));
  }
}

TEST_F(FunctionSettingsTest, ConcurrencyApiAnswersTooLittleUnreservedAsInvalidParameterValue) {
  const auto r = call("PUT", "/2017-10-31/functions/fn/concurrency",
                      R"({"ReservedConcurrentExecutions": 95})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(header(r, "x-amzn-ErrorType"), "InvalidParameterValueException");
  EXPECT_EQ(json::parse(r.body), (json{{"Type", "User"}, {"message", kTooLittleUnreserved}}));
}

TEST_F(FunctionSettingsTest, EventInvokeConfigApiAnswersAMissingFunctionWithItsArn) {
  for (const std::string method : {"GET", "PUT", "DELETE"}) {
    const auto r = call(method, "/2019-09-25/functions/missing/event-invoke-config", "{}");
    EXPECT_EQ(r.status, 404) << method;
    EXPECT_EQ(header(r, "x-amzn-ErrorType"), "ResourceNotFoundException");
    EXPECT_EQ(
        json::parse(r.body),
        (json{{"Type", "User"}, {"message", std::string("Function not found: ") + kMissingArn}}));
  }
}

TEST_F(FunctionSettingsTest, EventInvokeConfigApiAnswersNoConfigurationWithTheQualifiedArn) {
  const auto r = call("GET", "/2019-09-25/functions/fn/event-invoke-config");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(header(r, "x-amzn-ErrorType"), "ResourceNotFoundException");
  EXPECT_EQ(json::parse(r.body)["message"],
            "The function arn:aws:lambda:us-east-1:000000000000:function:fn:$LATEST doesn't have "
            "an EventInvokeConfig");
}

}  // namespace
