// The controller against fake environments (daemon_fake_environment.hpp): placement, warm reuse,
// admission, timeouts, crashes, retirement and shutdown, with real HTTP between the controller's
// Runtime API and the fake runtimes, and no root.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <future>

#include "common/metrics_registry.hpp"
#include "common/module_logger.hpp"
#include "daemon_fake_environment.hpp"
#include "runtimed/controller/controller.hpp"

namespace runtimed {
namespace {

using namespace std::chrono_literals;
using testing::FakeEnvironmentFactory;

// Functions held in memory; each has a code directory with an executable bootstrap.
class MemoryCatalog final : public api::FunctionCatalog {
 public:
  std::atomic<int> reads{0};  // get() calls

  explicit MemoryCatalog(std::filesystem::path code_dir) : code_dir_(std::move(code_dir)) {
    std::filesystem::create_directories(code_dir_);
    std::ofstream(code_dir_ / "bootstrap") << "#!/bin/sh\n";
    ::chmod((code_dir_ / "bootstrap").c_str(), 0755);
  }
  void put(const std::string& name, int memory_mb = 128, int timeout_s = 3) {
    common::FunctionConfig config;
    config.name = name;
    config.runtime = "provided.al2023";
    config.handler = "handler";
    config.memory_mb = memory_mb;
    config.timeout_s = timeout_s;
    std::lock_guard lock(mu_);
    functions_[name] = config;
  }

  void remove_version(const std::string& name, const std::string& version) {
    std::lock_guard lock(mu_);
    versions_.erase(name + ":" + version);
  }
  // Publishes $LATEST of `name` as `version`.
  void put_version(const std::string& name, const std::string& version) {
    std::lock_guard lock(mu_);
    common::FunctionConfig config = functions_.at(name);
    config.version = version;
    versions_[name + ":" + version] = config;
  }
  void put_alias(const std::string& name, const std::string& alias, api::AliasRouting routing) {
    std::lock_guard lock(mu_);
    aliases_[name + ":" + alias] = std::move(routing);
  }
  std::expected<common::FunctionConfig, common::StoreError> get_version(
      const std::string& name, const std::string& version) override {
    std::lock_guard lock(mu_);
    auto it = versions_.find(name + ":" + version);
    if (it == versions_.end())
      return std::unexpected(common::StoreError::not_found(name + ":" + version, ""));
    return it->second;
  }
  std::expected<api::AliasRouting, common::StoreError> alias_routing(
      const std::string& name, const std::string& alias) override {
    std::lock_guard lock(mu_);
    auto it = aliases_.find(name + ":" + alias);
    if (it == aliases_.end())
      return std::unexpected(common::StoreError::not_found(name + ":" + alias, ""));
    return it->second;
  }

  std::expected<common::FunctionConfig, common::StoreError> get(const std::string& name) override {
    std::lock_guard lock(mu_);
    ++reads;
    auto it = functions_.find(name);
    if (it == functions_.end()) return std::unexpected(common::StoreError::not_found(name, ""));
    return it->second;
  }
  std::filesystem::path code_dir(const common::FunctionConfig&) const override { return code_dir_; }
  std::filesystem::path layer_dir(const common::LayerRef& layer) const override {
    return code_dir_.parent_path() / ("layer-" + layer.name);
  }
  std::shared_ptr<void> hold_code(const common::FunctionConfig&) override {
    return std::make_shared<int>(0);
  }
  std::expected<common::FunctionConfig, common::StoreError> create(
      api::CreateFunctionRequest) override {
    return std::unexpected(common::StoreError::internal("not in this test"));
  }
  std::expected<api::FunctionPage, common::StoreError> list(const std::optional<std::string>&,
                                                            int) override {
    return std::unexpected(common::StoreError::internal("not in this test"));
  }
  std::expected<common::FunctionConfig, common::StoreError> update_code(
      const std::string&, std::string, const std::optional<std::string>&) override {
    return std::unexpected(common::StoreError::internal("not in this test"));
  }
  std::expected<common::FunctionConfig, common::StoreError> update_configuration(
      const std::string&, const api::ConfigurationPatch&,
      const std::optional<std::string>&) override {
    return std::unexpected(common::StoreError::internal("not in this test"));
  }
  std::expected<common::FunctionConfig, common::StoreError> update_tags(
      const std::string&, const std::map<std::string, std::string>&,
      const std::vector<std::string>&) override {
    return std::unexpected(common::StoreError::internal("not in this test"));
  }
  std::expected<void, common::StoreError> remove(const std::string&) override {
    return std::unexpected(common::StoreError::internal("not in this test"));
  }

 private:
  std::filesystem::path code_dir_;
  std::mutex mu_;
  std::map<std::string, common::FunctionConfig> functions_;
  std::map<std::string, common::FunctionConfig> versions_;  // NAME:VERSION
  std::map<std::string, api::AliasRouting> aliases_;        // NAME:ALIAS
};

class ControllerTest : public ::testing::Test {
 protected:
  ControllerTest()
      : dir_(std::filesystem::temp_directory_path() /
             ("controller-test-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name())),
        factory_(dir_),
        catalog_(dir_ / "code"),
        logs_(dir_ / "logs") {
    catalog_.put("fn");
  }
  ~ControllerTest() override {
    controller_.reset();
    std::filesystem::remove_all(dir_);
  }

  Controller& controller(ControllerOptions options = {}) {
    options.host = HostIdentity{"us-east-1", "000000000000"};
    if (options.memory_budget_mb == 0) options.memory_budget_mb = 4096;
    options.disk_reserve_mb = 0;
    controller_ = std::make_unique<Controller>(options, factory_, server_, catalog_, logs_);
    return *controller_;
  }

  // `function`: NAME or NAME:QUALIFIER.
  std::future<api::InvokeResult> invoke_async(const std::string& payload,
                                              const std::string& function = "fn",
                                              bool tail_log = false) {
    auto promise = std::make_shared<std::promise<api::InvokeResult>>();
    auto future = promise->get_future();
    api::InvokeRequest request;
    request.function_name = function.substr(0, function.find(':'));
    if (auto colon = function.find(':'); colon != std::string::npos)
      request.qualifier = function.substr(colon + 1);
    request.payload = payload;
    request.tail_log = tail_log;
    controller_->invoke(std::move(request), "req-" + std::to_string(++requests_),
                        [promise](api::InvokeResult r) { promise->set_value(std::move(r)); });
    return future;
  }

  api::InvokeResult invoke(const std::string& payload, const std::string& function = "fn",
                           bool tail_log = false) {
    auto future = invoke_async(payload, function, tail_log);
    if (future.wait_for(20s) != std::future_status::ready) {
      ADD_FAILURE() << "invocation did not finish";
      return {};
    }
    return future.get();
  }

  std::string log_text(const std::string& function = "fn") {
    uint64_t offset = 0;
    return logs_.get(function)->read_from(offset, 1 << 20);
  }

  std::filesystem::path dir_;
  FakeEnvironmentFactory factory_;
  MemoryCatalog catalog_;
  FunctionLogs logs_;
  api::HttpServer server_{2};
  std::unique_ptr<Controller> controller_;
  int requests_ = 0;
};

TEST_F(ControllerTest, AnswersWithTheRuntimesResponseAndReusesTheWarmEnvironment) {
  controller();
  auto first = invoke(R"("one")");
  EXPECT_FALSE(first.api_error);
  EXPECT_FALSE(first.function_error);
  EXPECT_EQ(first.payload, R"("one")");
  auto second = invoke(R"("two")");
  EXPECT_EQ(second.payload, R"("two")");
  const auto stats = controller_->stats();
  EXPECT_EQ(stats.cold_starts, 1u);
  EXPECT_EQ(stats.warm_starts, 1u);
  EXPECT_EQ(stats.idle, 1u);
  EXPECT_EQ(factory_.counters.launched, 1);
}

TEST_F(ControllerTest, CountsEachVersionsEnvironmentsByState) {
  catalog_.put("other");
  controller();
  EXPECT_TRUE(controller_->environments_by_version().empty());
  auto busy = invoke_async(R"("sleep:1500")");
  for (int i = 0; i < 200 && controller_->stats().busy == 0; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(invoke(R"("x")", "other").payload, R"("x")");
  auto counts = controller_->environments_by_version();
  ASSERT_EQ(counts.size(), 2u);
  EXPECT_EQ(counts[0].function, "fn");
  EXPECT_EQ(counts[0].version, "$LATEST");
  EXPECT_EQ(counts[0].busy, 1u);
  EXPECT_EQ(counts[0].warm + counts[0].frozen + counts[0].starting, 0u);
  EXPECT_EQ(counts[1].function, "other");
  EXPECT_EQ(counts[1].busy, 0u);
  EXPECT_EQ(counts[1].warm + counts[1].frozen, 1u);
  busy.get();
  counts = controller_->environments_by_version();
  ASSERT_EQ(counts.size(), 2u);
  EXPECT_EQ(counts[0].busy, 0u);
  EXPECT_EQ(counts[0].warm + counts[0].frozen, 1u);
}

TEST_F(ControllerTest, ProvisionedEnvironmentsAreInitializedAheadUsedFirstAndKeptAtTheirCount) {
  catalog_.put_version("fn", "1");
  catalog_.put_alias("fn", "live", {.function_version = "1"});
  controller();
  const auto allocated = [&] { return controller_->provisioned_state("fn", "live").allocated; };
  const auto wait_for = [&](size_t n) {
    for (int i = 0; i < 400 && allocated() != n; ++i) std::this_thread::sleep_for(10ms);
    return allocated();
  };
  controller_->set_provisioned("fn", "live", 2);
  ASSERT_EQ(wait_for(2), 2u);
  EXPECT_EQ(factory_.counters.launched, 2);
  EXPECT_EQ(controller_->stats().idle, 2u);
  EXPECT_EQ(controller_->stats().cold_starts, 0u);
  // The alias's invocations take them: no cold start, no Init Duration, Lambda's variable.
  auto r = invoke(R"("env:AWS_LAMBDA_INITIALIZATION_TYPE")", "fn:live");
  EXPECT_EQ(r.payload, R"("provisioned-concurrency")");
  EXPECT_EQ(r.executed_version, "1");
  EXPECT_EQ(factory_.counters.launched, 2);
  EXPECT_EQ(controller_->stats().cold_starts, 0u);
  EXPECT_THAT(log_text(), ::testing::HasSubstr("REPORT RequestId"));
  EXPECT_THAT(log_text(), ::testing::Not(::testing::HasSubstr("Init Duration")));
  // $LATEST is on demand.
  EXPECT_EQ(invoke(R"("env:AWS_LAMBDA_INITIALIZATION_TYPE")").payload, R"("on-demand")");
  // One that ends is replaced; they never expire or get evicted.
  invoke(R"("exit-after")", "fn:live");
  for (int i = 0; i < 400 && factory_.counters.launched < 4; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(wait_for(2), 2u);
  EXPECT_EQ(factory_.counters.launched, 4);  // 2 provisioned, $LATEST, the replacement
  EXPECT_TRUE(controller_->provisioned_state("fn", "live").failure.empty());
  // Fewer: the extra ones go; none: all go.
  controller_->set_provisioned("fn", "live", 1);
  EXPECT_EQ(wait_for(1), 1u);
  controller_->set_provisioned("fn", "live", 0);
  EXPECT_EQ(wait_for(0), 0u);
}

TEST_F(ControllerTest, AChangedFunctionIsReadAgainAheadOfItsNextInvocation) {
  controller();
  EXPECT_EQ(invoke(R"("a")").payload, R"("a")");
  const int before = catalog_.reads;
  catalog_.put("fn", 256);
  controller_->function_changed("fn");
  for (int i = 0; i < 200 && catalog_.reads == before; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(catalog_.reads, before + 1);  // read on the blocking pool, not by an invocation
  EXPECT_EQ(invoke(R"("b")").payload, R"("b")");
  EXPECT_EQ(catalog_.reads, before + 1);  // the invocation found it loaded
}

TEST_F(ControllerTest, UnknownFunctionIsResourceNotFoundWithLambdasMessage) {
  controller();
  auto result = invoke("{}", "nope");
  ASSERT_TRUE(result.api_error);
  EXPECT_EQ(result.api_error->type, api::ApiErrorType::ResourceNotFound);
  EXPECT_EQ(result.api_error->message,
            "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope");
  EXPECT_EQ(factory_.taken, 0);
}

TEST_F(ControllerTest, OverTheConcurrencyLimitIsRefusedAtOnce) {
  controller({.concurrency_limit = 1});
  auto busy = invoke_async(R"("sleep:1500")");
  // Wait until the first is admitted (it holds the only slot).
  for (int i = 0; i < 200 && controller_->stats().busy == 0; ++i) std::this_thread::sleep_for(5ms);
  const auto started = std::chrono::steady_clock::now();
  auto refused = invoke(R"("x")");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 500ms);
  ASSERT_TRUE(refused.api_error);
  EXPECT_EQ(refused.api_error->type, api::ApiErrorType::TooManyRequests);
  EXPECT_EQ(refused.api_error->reason, "ConcurrentInvocationLimitExceeded");
  EXPECT_EQ(busy.get().payload, R"("sleep:1500")");
  EXPECT_EQ(controller_->stats().throttles, 1u);
}

TEST_F(ControllerTest, AReservationHoldsItsFunctionAndLeavesTheRestToOthers) {
  catalog_.put("other");
  controller({.concurrency_limit = 2});
  controller_->set_reserved_concurrency("fn", 1);
  auto busy = invoke_async(R"("sleep:1500")");
  for (int i = 0; i < 200 && controller_->stats().busy == 0; ++i) std::this_thread::sleep_for(5ms);
  auto refused = invoke(R"("x")");
  ASSERT_TRUE(refused.api_error);
  EXPECT_EQ(refused.api_error->reason, "ReservedFunctionConcurrentInvocationLimitExceeded");
  // "other" has the one unreserved slot.
  EXPECT_EQ(invoke(R"("y")", "other").payload, R"("y")");
  EXPECT_EQ(controller_->capacity("other").limit, 1u);
  busy.get();
}

// Cluster mode: a node admits its share of a reservation, reports the reservation as configured,
// and takes a new share when the live nodes change.
TEST_F(ControllerTest, ANodeAdmitsItsShareOfAReservationAndTakesANewOneWhenMembersChange) {
  catalog_.put("other");
  controller({.concurrency_limit = 10});
  int nodes = 4;
  controller_->set_reserved_share(
      [&nodes](const std::string&, int reserved) { return reserved / nodes; });
  controller_->set_reserved_concurrency("fn", 4);
  EXPECT_EQ(controller_->reserved_concurrency("fn"), 4);
  EXPECT_EQ(controller_->capacity("fn").limit, 1u);
  // Only the share is taken from this node's unreserved pool.
  EXPECT_EQ(controller_->capacity("other").limit, 9u);
  auto busy = invoke_async(R"("sleep:1500")");
  for (int i = 0; i < 200 && controller_->stats().busy == 0; ++i) std::this_thread::sleep_for(5ms);
  auto refused = invoke(R"("x")");
  ASSERT_TRUE(refused.api_error);
  EXPECT_EQ(refused.api_error->reason, "ReservedFunctionConcurrentInvocationLimitExceeded");
  nodes = 2;
  controller_->reshare_reservations();
  EXPECT_EQ(controller_->capacity("fn").limit, 2u);
  EXPECT_EQ(invoke(R"("y")").payload, R"("y")");
  busy.get();
  controller_->set_reserved_concurrency("fn", std::nullopt);
  EXPECT_EQ(controller_->reserved_concurrency("fn"), std::nullopt);
  EXPECT_EQ(controller_->capacity("other").limit, 10u);
}

TEST_F(ControllerTest, AnInvocationErrorIsAFunctionErrorAndKeepsTheEnvironment) {
  controller();
  auto result = invoke(R"("error")");
  EXPECT_TRUE(result.function_error);
  EXPECT_NE(result.payload.find("FakeError"), std::string::npos);
  EXPECT_EQ(invoke(R"("ok")").payload, R"("ok")");
  EXPECT_EQ(factory_.counters.launched, 1);
}

TEST_F(ControllerTest, ARuntimeThatExitsMidInvocationIsRuntimeExitErrorAndTheNextStartsCold) {
  controller();
  auto crashed = invoke(R"("exit")");
  EXPECT_TRUE(crashed.function_error);
  EXPECT_NE(crashed.payload.find("Runtime.ExitError"), std::string::npos) << crashed.payload;
  EXPECT_NE(crashed.payload.find("exit status 3"), std::string::npos) << crashed.payload;
  EXPECT_EQ(invoke(R"("after")").payload, R"("after")");
  EXPECT_EQ(factory_.counters.launched, 2);
}

TEST_F(ControllerTest, ARuntimeThatExitsBetweenInvocationsDoesNotFailTheNextOne) {
  controller();
  EXPECT_EQ(invoke(R"("exit-after")").payload, R"("exit-after")");
  // Whether the exit is noticed before or after this call is placed, it runs on a fresh
  // environment and succeeds.
  for (int i = 0; i < 5; ++i) {
    auto next = invoke(R"("exit-after")");
    EXPECT_FALSE(next.function_error) << next.payload;
    EXPECT_EQ(next.payload, R"("exit-after")");
  }
  EXPECT_EQ(factory_.counters.launched, 6);
}

TEST_F(ControllerTest, AnInvocationPastItsTimeoutIsSandboxTimedoutAndItsEnvironmentKilled) {
  catalog_.put("slow", 128, 1);
  controller();
  auto result = invoke(R"("sleep:5000")", "slow");
  EXPECT_TRUE(result.function_error);
  EXPECT_NE(result.payload.find("Sandbox.Timedout"), std::string::npos) << result.payload;
  EXPECT_NE(result.payload.find("Task timed out after 1.00 seconds"), std::string::npos);
  EXPECT_GE(factory_.counters.killed, 1);
  EXPECT_NE(log_text("slow").find("Task timed out after 1.00 seconds"), std::string::npos);
}

TEST_F(ControllerTest, WritesStartEndReportAroundWholeOutputLinesAndReturnsTheTail) {
  controller();
  auto result = invoke(R"("print:hello\nwor")", "fn", /*tail_log=*/true);
  EXPECT_FALSE(result.function_error);
  const std::string log = log_text();
  const auto start = log.find("START RequestId: req-1 Version: $LATEST\n");
  const auto hello = log.find("hello\\nwor\n");
  const auto end = log.find("END RequestId: req-1\n");
  const auto report = log.find("REPORT RequestId: req-1\tDuration: ");
  ASSERT_NE(start, std::string::npos) << log;
  ASSERT_NE(hello, std::string::npos) << log;
  ASSERT_NE(end, std::string::npos) << log;
  ASSERT_NE(report, std::string::npos) << log;
  EXPECT_LT(start, hello);
  EXPECT_LT(hello, end);
  EXPECT_NE(log.find("Max Memory Used: 42 MB\tInit Duration: "), std::string::npos) << log;
  EXPECT_EQ(result.log_tail.substr(0, 6), "START ");
  EXPECT_NE(result.log_tail.find("REPORT RequestId: req-1"), std::string::npos);
  // The second invocation of the environment reports no Init Duration.
  invoke(R"("again")");
  const std::string after = log_text();
  EXPECT_EQ(after.find("Init Duration", after.find("REPORT RequestId: req-2")), std::string::npos);
}

TEST_F(ControllerTest, AChangedFunctionRetiresItsIdleEnvironments) {
  controller();
  invoke(R"("a")");
  EXPECT_EQ(controller_->stats().idle, 1u);
  controller_->function_changed("fn");
  EXPECT_EQ(controller_->stats().environments, 0u);
  invoke(R"("b")");
  EXPECT_EQ(factory_.counters.launched, 2);
}

TEST_F(ControllerTest, EachVersionHasItsOwnWarmPoolAndSaysWhichVersionRan) {
  catalog_.put_version("fn", "1");
  controller();
  auto latest = invoke(R"("a")");
  EXPECT_EQ(latest.executed_version, "$LATEST");
  auto v1 = invoke(R"("b")", "fn:1");
  EXPECT_EQ(v1.executed_version, "1");
  EXPECT_EQ(factory_.counters.launched, 2);  // the versions do not share environments
  invoke(R"("c")", "fn:1");
  invoke(R"("d")");
  EXPECT_EQ(factory_.counters.launched, 2);
  EXPECT_THAT(log_text(), ::testing::HasSubstr("Version: 1\n"));
  EXPECT_THAT(log_text(), ::testing::HasSubstr("Version: $LATEST\n"));

  auto missing = invoke("{}", "fn:7");
  ASSERT_TRUE(missing.api_error);
  EXPECT_EQ(missing.api_error->message,
            "Function not found: arn:aws:lambda:us-east-1:000000000000:function:fn:7");

  // A change to $LATEST leaves version 1's environment warm; deleting version 1 retires it.
  controller_->function_changed("fn");
  EXPECT_EQ(controller_->stats().idle, 1u);
  controller_->function_changed("fn:1");
  EXPECT_EQ(controller_->stats().idle, 0u);
}

// A version deleted while its change was not heard of (cluster mode, the listener reconnecting):
// forgetting what was read makes the next call read it again, and find it gone.
TEST_F(ControllerTest, ForgettingCachedFunctionsReadsEachAgainAtItsNextCall) {
  catalog_.put_version("fn", "1");
  controller();
  EXPECT_EQ(invoke(R"("a")", "fn:1").executed_version, "1");
  catalog_.remove_version("fn", "1");
  EXPECT_EQ(invoke(R"("b")", "fn:1").executed_version, "1");  // cached: the change was missed
  controller_->forget_cached_functions();
  auto gone = invoke(R"("c")", "fn:1");
  ASSERT_TRUE(gone.api_error);
  EXPECT_EQ(gone.api_error->type, api::ApiErrorType::ResourceNotFound);
  EXPECT_EQ(invoke(R"("d")").payload, R"("d")");
}

TEST_F(ControllerTest, AnAliasRoutesByItsWeightsAndDrainTakesEveryVersionsPool) {
  catalog_.put_version("fn", "1");
  catalog_.put_version("fn", "2");
  catalog_.put_alias("fn", "live", api::AliasRouting{"1", "2", 0.25});
  controller();
  std::map<std::string, int> ran;
  constexpr int kCalls = 400;
  for (int i = 0; i < kCalls; ++i) ++ran[invoke("{}", "fn:live").executed_version];
  EXPECT_EQ(ran["1"] + ran["2"], kCalls);
  // 25% of 400 is 100; a binomial's 5 standard deviations is about 43.
  EXPECT_NEAR(ran["2"], 100, 43);
  EXPECT_EQ(factory_.counters.launched, 2);

  auto missing = invoke("{}", "fn:nope");
  ASSERT_TRUE(missing.api_error);
  EXPECT_EQ(missing.api_error->type, api::ApiErrorType::ResourceNotFound);
  EXPECT_THAT(missing.api_error->message, ::testing::HasSubstr("function:fn:nope"));

  EXPECT_EQ(controller_->drain("fn"), 2u);
  EXPECT_EQ(controller_->stats().environments, 0u);
}

TEST_F(ControllerTest, DrainDiscardsIdleEnvironmentsSoTheNextInvocationStartsCold) {
  catalog_.put("other");
  controller();
  invoke(R"("a")");
  invoke(R"("b")", "other");
  EXPECT_EQ(controller_->drain("fn"), 1u);
  EXPECT_EQ(controller_->drain("fn"), 0u);
  EXPECT_EQ(controller_->stats().environments, 1u);  // "other" stays warm
  invoke(R"("c")");
  EXPECT_EQ(controller_->stats().cold_starts, 3u);
}

TEST_F(ControllerTest, ColdStartsEvictTheOldestIdleEnvironmentToStayInTheMemoryBudget) {
  catalog_.put("big", 256);
  catalog_.put("other", 256);
  controller({.memory_budget_mb = 512});
  invoke(R"("1")", "big");
  invoke(R"("2")", "other");
  EXPECT_EQ(controller_->stats().memory_used_mb, 512u);
  catalog_.put("third", 256);
  EXPECT_EQ(invoke(R"("3")", "third").payload, R"("3")");
  const auto stats = controller_->stats();
  EXPECT_EQ(stats.memory_used_mb, 512u);
  EXPECT_EQ(stats.environments, 2u);
  // "big" was idle longest: it went, "other" stayed warm.
  invoke(R"("4")", "other");
  EXPECT_EQ(controller_->stats().warm_starts, 1u);
}

TEST_F(ControllerTest, AFullMemoryBudgetIsA429ThatSaysSoAndIsLoggedOncePerEpisode) {
  // The scheduler's log lines, captured.
  auto captured = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(16);
  auto scheduler = common::module_logger("scheduler");
  scheduler->sinks().push_back(captured);
  catalog_.put("huge", 1024);
  controller({.memory_budget_mb = 512});
  for (int i = 0; i < 3; ++i) {
    auto result = invoke("{}", "huge");
    ASSERT_TRUE(result.api_error);
    EXPECT_EQ(result.api_error->type, api::ApiErrorType::TooManyRequests);
    EXPECT_EQ(result.api_error->message,
              "Rate Exceeded. The host's memory budget is full: environments hold 0 of 512 MB and "
              "this function needs 1024 MB.");
  }
  EXPECT_EQ(controller_->stats().busy, 0u);
  // The episode ends 5 s after its last refusal.
  std::vector<std::string> lines = captured->last_formatted();
  for (int i = 0; i < 100 && lines.size() < 2; ++i) {
    std::this_thread::sleep_for(100ms);
    lines = captured->last_formatted();
  }
  scheduler->sinks().pop_back();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("throttling started: Rate Exceeded. The host's memory budget is full"),
            std::string::npos)
      << lines[0];
  EXPECT_NE(lines[1].find("throttling stopped: 3 invocations refused"), std::string::npos)
      << lines[1];
}

TEST_F(ControllerTest, IdleEnvironmentsAreFrozenThenThawedForTheNextInvocation) {
  controller({.freeze_after = 20ms});
  invoke(R"("a")");
  for (int i = 0; i < 200 && factory_.counters.freezes == 0; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(factory_.counters.freezes, 1);
  EXPECT_EQ(controller_->stats().frozen, 1u);
  invoke(R"("b")");
  EXPECT_EQ(factory_.counters.thaws, 1);
}

TEST_F(ControllerTest, IdleEnvironmentsPastKeepAliveAreRemoved) {
  controller({.keep_alive = 50ms});
  invoke(R"("a")");
  for (int i = 0; i < 400 && factory_.counters.destroyed == 0; ++i)
    std::this_thread::sleep_for(5ms);
  EXPECT_EQ(factory_.counters.destroyed, 1);
  EXPECT_EQ(controller_->stats().environments, 0u);
}

TEST_F(ControllerTest, ShutdownDrainsInFlightInvocationsThenRemovesEveryEnvironment) {
  controller();
  auto in_flight = invoke_async(R"("sleep:300")");
  for (int i = 0; i < 200 && controller_->stats().busy == 0; ++i) std::this_thread::sleep_for(5ms);
  controller_->shutdown(5s);
  EXPECT_EQ(in_flight.get().payload, R"("sleep:300")");
  EXPECT_EQ(factory_.counters.destroyed, 1);  // shutdown returned after the removal
  EXPECT_TRUE(factory_.stopped);
  auto refused = invoke("{}");
  ASSERT_TRUE(refused.api_error);
  EXPECT_EQ(refused.api_error->type, api::ApiErrorType::Service);
}

TEST_F(ControllerTest, ShutdownPastTheDrainFailsWhatStillRuns) {
  controller();
  auto in_flight = invoke_async(R"("sleep:10000")");
  for (int i = 0; i < 200 && controller_->stats().busy == 0; ++i) std::this_thread::sleep_for(5ms);
  const auto started = std::chrono::steady_clock::now();
  controller_->shutdown(100ms);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  auto result = in_flight.get();
  EXPECT_TRUE(result.function_error);
  EXPECT_NE(result.payload.find("Runtime.ExitError"), std::string::npos) << result.payload;
  EXPECT_EQ(factory_.counters.destroyed, 1);
}

TEST_F(ControllerTest, CountsInvocationsByOutcomeColdStartsAndThrottlesInItsMetrics) {
  catalog_.put("slow", 128, 1);
  common::metrics::Registry registry;
  controller({.concurrency_limit = 1, .metrics = &registry});
  invoke(R"("a")");
  invoke(R"("b")");
  invoke(R"("error")");
  invoke(R"("sleep:5000")", "slow");
  auto busy = invoke_async(R"("sleep:1000")");
  for (int i = 0; i < 200 && controller_->stats().busy == 0; ++i) std::this_thread::sleep_for(5ms);
  invoke("{}");  // refused: the only slot is taken
  busy.get();
  const std::string text = registry.expose();
  for (const char* line : {
           "runtimed_invocations_total{function=\"fn\",outcome=\"success\"} 3\n",
           "runtimed_invocations_total{function=\"fn\",outcome=\"function_error\"} 1\n",
           "runtimed_invocations_total{function=\"slow\",outcome=\"timeout\"} 1\n",
           "runtimed_cold_starts_total{function=\"fn\"} 1\n",
           "runtimed_cold_starts_total{function=\"slow\"} 1\n",
           "runtimed_throttles_total{reason=\"ConcurrentInvocationLimitExceeded\"} 1\n",
           "runtimed_init_duration_seconds_count{function=\"fn\"} 1\n",
           "runtimed_invocation_duration_seconds_count{function=\"fn\"} 4\n",
           "runtimed_environments{state=\"warm\"} 1\n",
           "runtimed_memory_budget_bytes 4294967296\n",
           "runtimed_memory_used_bytes 134217728\n",
           "runtimed_concurrency_limit 1\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << line << " not in:\n" << text;
  }
}

}  // namespace
}  // namespace runtimed
