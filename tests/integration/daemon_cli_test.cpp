// The command-line client end to end: a real `runtimed serve` and the `runtimed` CLI binary.
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/integration/daemon_process.hpp"

namespace {

namespace fs = std::filesystem;
using CliRun = testsupport::CommandRun;

// Runs the CLI binary to completion.
CliRun run_cli(std::vector<std::string> args) {
  args.insert(args.begin(), testsupport::bin_path("runtimed").string());
  return testsupport::run_command(args);
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<testsupport::DaemonProcess>();
    endpoint_ = "http://127.0.0.1:" + std::to_string(daemon_->port());
  }

  CliRun cli(std::vector<std::string> args) {
    args.push_back("--endpoint");
    args.push_back(endpoint_);
    return run_cli(std::move(args));
  }

  // Creates NAME from a code directory whose bootstrap is the echoing C test runtime.
  void create_echo_function(const std::string& name) {
    const fs::path runtime = testsupport::bin_path("fn-c_runtime");
    ASSERT_TRUE(fs::exists(runtime)) << runtime << " is not built";
    const fs::path code = scratch_.path() / ("code-" + name);
    fs::create_directories(code);
    fs::copy_file(runtime, code / "bootstrap", fs::copy_options::overwrite_existing);
    fs::permissions(code / "bootstrap", fs::perms(0755));
    auto run = cli({"create", name, "--runtime", "provided.al2023", "--code", code.string()});
    ASSERT_EQ(run.status, 0) << run;
    EXPECT_NE(run.out.find("\"FunctionName\": \"" + name + "\""), std::string::npos) << run;
  }

  testsupport::TempDir scratch_{"rt-cli-scratch"};
  std::unique_ptr<testsupport::DaemonProcess> daemon_;  // stopped with SIGTERM at destruction
  std::string endpoint_;
};

TEST_F(CliTest, CreatedFunctionIsListed) {
  ASSERT_NO_FATAL_FAILURE(create_echo_function("echo"));
  auto run = cli({"list"});
  ASSERT_EQ(run.status, 0) << run;
  EXPECT_EQ(run.out.rfind("NAME", 0), 0u) << run;
  EXPECT_NE(run.out.find("\necho "), std::string::npos) << run;
  EXPECT_NE(run.out.find("provided.al2023"), std::string::npos) << run;

  auto json_run = cli({"list", "--json"});
  ASSERT_EQ(json_run.status, 0) << json_run;
  EXPECT_NE(json_run.out.find("\"FunctionName\": \"echo\""), std::string::npos) << json_run;
}

TEST_F(CliTest, InvokePrintsTheResultAndExitsZero) {
  ASSERT_NO_FATAL_FAILURE(create_echo_function("echo"));
  auto run = cli({"invoke", "echo", "--payload", R"({"a":1})"});
  EXPECT_EQ(run.status, 0) << run;
  EXPECT_EQ(run.out, "{\"a\":1}\n") << run;
}

TEST_F(CliTest, EventInvokePrintsItsRequestId) {
  create_echo_function("echo");
  auto run = cli({"invoke", "echo", "--invocation-type", "Event", "--payload", "{}"});
  ASSERT_EQ(run.status, 0) << run;
  const auto printed = nlohmann::json::parse(run.out, nullptr, false);
  ASSERT_TRUE(printed.is_object()) << run;
  EXPECT_EQ(printed.value("StatusCode", 0), 202) << run;
  EXPECT_GE(printed.value("RequestId", std::string()).size(), 32u) << run;
}

TEST_F(CliTest, FunctionErrorExitsOne) {
  ASSERT_NO_FATAL_FAILURE(create_echo_function("echo"));
  auto run = cli({"invoke", "echo", "--payload", R"({"action":"error"})"});
  EXPECT_EQ(run.status, 1) << run;
}

TEST_F(CliTest, InvokingAMissingFunctionExitsTwoWithTheErrorType) {
  auto run = cli({"invoke", "nosuch"});
  EXPECT_EQ(run.status, 2) << run;
  EXPECT_EQ(run.err.rfind("runtimed: ResourceNotFoundException: ", 0), 0u) << run;
}

TEST_F(CliTest, UpdatedMemoryShowsInGet) {
  ASSERT_NO_FATAL_FAILURE(create_echo_function("echo"));
  auto before = cli({"get", "echo"});
  ASSERT_EQ(before.status, 0) << before;
  EXPECT_NE(before.out.find("\"MemorySize\": 128"), std::string::npos) << before;
  auto update = cli({"update", "echo", "--memory", "256"});
  ASSERT_EQ(update.status, 0) << update;
  auto after = cli({"get", "echo"});
  ASSERT_EQ(after.status, 0) << after;
  EXPECT_NE(after.out.find("\"MemorySize\": 256"), std::string::npos) << after;
}

TEST_F(CliTest, DeletedFunctionIsGone) {
  ASSERT_NO_FATAL_FAILURE(create_echo_function("echo"));
  auto del = cli({"delete", "echo"});
  ASSERT_EQ(del.status, 0) << del;
  auto get = cli({"get", "echo"});
  EXPECT_EQ(get.status, 2) << get;
  EXPECT_NE(get.err.find("ResourceNotFoundException"), std::string::npos) << get;
}

TEST(CliWithoutDaemon, UnreachableEndpointExitsTwo) {
  const std::string endpoint = "http://127.0.0.1:" + std::to_string(testsupport::free_port());
  auto run = run_cli({"get", "fn", "--endpoint", endpoint});
  EXPECT_EQ(run.status, 2) << run;
  EXPECT_EQ(run.err.rfind("runtimed: cannot reach " + endpoint + ": ", 0), 0u) << run;
}

TEST(CliWithoutDaemon, VersionPrintsTheVersionAndExitsZero) {
  auto run = run_cli({"--version"});
  EXPECT_EQ(run.status, 0) << run;
  EXPECT_EQ(run.out.rfind("runtimed ", 0), 0u) << run;
  EXPECT_NE(run.out.find('.'), std::string::npos) << run;
}

TEST(CliWithoutDaemon, UsageErrorsExitSixtyFour) {
  auto unknown_flag = run_cli({"serve", "--no-such-flag"});
  EXPECT_EQ(unknown_flag.status, 64) << unknown_flag;
  auto no_command = run_cli({});
  EXPECT_EQ(no_command.status, 64) << no_command;
}

}  // namespace
