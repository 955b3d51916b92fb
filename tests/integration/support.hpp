// Shared helpers for integration tests: paths of built binaries, temp dirs.
#pragma once

#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace testsupport {

std::filesystem::path bin_path(const std::string& name);  // build/bin/<name>
std::filesystem::path source_path(const std::string& rel);

// A loopback port nothing listens on right now (the kernel's pick for an ephemeral bind).
int free_port();

// A finished child process: its exit status (-1 if it did not exit normally) and output.
struct CommandRun {
  int status = -1;
  std::string out;
  std::string err;
};
std::ostream& operator<<(std::ostream& os, const CommandRun& r);
// Runs `args` (args[0] a full path) to completion, stdin from /dev/null, with the environment
// `env` ("K=V" entries) if given, else this process's.
CommandRun run_command(const std::vector<std::string>& args,
                       const std::optional<std::vector<std::string>>& env = std::nullopt);

// The environment AWS's clients run with in tests: this key pair, us-east-1, no pager and no
// instance metadata, and nothing read from `home`'s configuration or credentials files.
std::vector<std::string> aws_client_env(const std::filesystem::path& home, const std::string& key,
                                        const std::string& secret);
// python3 tests/integration/clients/<script> ARGS… with HOME=`home`, no instance metadata and a
// plain PATH (the boto3 scripts take their endpoint and keys as arguments).
CommandRun run_client_script(const std::string& script, const std::vector<std::string>& args,
                             const std::filesystem::path& home);

// AWS's JavaScript SDK v3 Lambda client, installed once per test process by
// scripts/install-aws-sdk-js.sh: the install dir and the script's exit status (75: the npm
// registry is unreachable, and tests that need it skip; anything else but 0 is a failure).
struct AwsSdkJs {
  std::string dir;
  int exit_status = -1;
};
const AwsSdkJs& aws_sdk_js();
// In a test body: skips the test when the npm registry is unreachable, fails it when the install
// failed otherwise.
#define RT_REQUIRE_AWS_SDK_JS()                                                              \
  do {                                                                                       \
    if (::testsupport::aws_sdk_js().exit_status == 75)                                       \
      GTEST_SKIP() << "npm registry unreachable: scripts/install-aws-sdk-js.sh could not "   \
                      "fetch @aws-sdk/client-lambda";                                        \
    ASSERT_EQ(::testsupport::aws_sdk_js().exit_status, 0) << "install-aws-sdk-js.sh failed"; \
  } while (0)
// node tests/integration/clients/<script> SDK_DIR ARGS… with HOME=`home`, no instance metadata,
// a plain PATH; call only when aws_sdk_js() succeeded.
CommandRun run_sdk_script(const std::string& script, const std::vector<std::string>& args,
                          const std::filesystem::path& home);

// A temporary directory removed (recursively) at destruction.
class TempDir {
 public:
  // Under `parent` (default: the system's temp dir, /tmp).
  explicit TempDir(const std::string& prefix = "rt-test", const std::filesystem::path& parent = {});
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace testsupport
