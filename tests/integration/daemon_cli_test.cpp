// The command-line client end to end: a real `runtimed serve` and the `runtimed` CLI binary.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/ids.hpp"
#include "tests/integration/support.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Starts `args` with stdout and stderr sent to `out` and `err`; -1 if it could not be started.
pid_t spawn(const std::vector<std::string>& args, const fs::path& out, const fs::path& err) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  return rc == 0 ? pid : -1;
}

using CliRun = testsupport::CommandRun;

// Runs the CLI binary to completion.
CliRun run_cli(const fs::path&, std::vector<std::string> args) {
  args.insert(args.begin(), testsupport::bin_path("runtimed").string());
  return testsupport::run_command(args);
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const int port = testsupport::free_port();
    ASSERT_GT(port, 0);
    endpoint_ = "http://127.0.0.1:" + std::to_string(port);
    fs::create_directories(state_.path() / "state");
    daemon_log_ = state_.path() / "daemon.log";
    daemon_ = spawn(
        {testsupport::bin_path("runtimed").string(), "serve", "--listen",
         "127.0.0.1:" + std::to_string(port), "--state-dir", (state_.path() / "state").string(),
         "--cgroup-parent", "rt-cli-" + common::random_hex(8)},
        daemon_log_, daemon_log_);
    ASSERT_GT(daemon_, 0) << "cannot start runtimed serve";
    ASSERT_TRUE(wait_healthy()) << "daemon exited or was not healthy within 10 s; its log:\n"
                                << read_all(daemon_log_);
  }

  void TearDown() override {
    if (daemon_ > 0) {
      ::kill(daemon_, SIGTERM);
      int wstatus = 0;
      ::waitpid(daemon_, &wstatus, 0);
    }
  }

  bool wait_healthy() {
    httplib::Client client(endpoint_);
    client.set_connection_timeout(1s);
    client.set_read_timeout(1s);
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      int wstatus = 0;
      if (::waitpid(daemon_, &wstatus, WNOHANG) == daemon_) {
        daemon_ = -1;  // exited: nothing to wait for
        return false;
      }
      if (auto res = client.Get("/runtimed/v1/health"); res && res->status == 200) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }

  CliRun cli(std::vector<std::string> args) {
    args.push_back("--endpoint");
    args.push_back(endpoint_);
    return run_cli(scratch_.path(), std::move(args));
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

  testsupport::TempDir state_{"rt-cli-state"};
  testsupport::TempDir scratch_{"rt-cli-scratch"};
  std::string endpoint_;
  fs::path daemon_log_;
  pid_t daemon_ = -1;
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
  testsupport::TempDir scratch{"rt-cli-scratch"};
  const std::string endpoint = "http://127.0.0.1:" + std::to_string(testsupport::free_port());
  auto run = run_cli(scratch.path(), {"get", "fn", "--endpoint", endpoint});
  EXPECT_EQ(run.status, 2) << run;
  EXPECT_EQ(run.err.rfind("runtimed: cannot reach " + endpoint + ": ", 0), 0u) << run;
}

}  // namespace
