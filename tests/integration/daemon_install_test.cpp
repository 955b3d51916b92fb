// `cmake --install` of this build into a fresh prefix, then the installed runtimed serving a
// python3.12 function: the installed daemon finds runtimed-init and the managed runtimes under its
// prefix. And a runtimed outside any build or install tree still finds the runtimes it was built
// with (a build directory anywhere, `cmake -B /some/dir`).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "tests/integration/daemon_test.hpp"

namespace {

using nlohmann::json;
using testsupport::body_json;
using testsupport::DaemonProcess;
using testsupport::TempDir;
using testsupport::zip_of;

const char* kApp = "def handler(event, context):\n    return {'sum': event['a'] + event['b']}\n";

// Creates and invokes a python3.12 function on `daemon`: 200 with the handler's result.
void expect_python_function_runs(DaemonProcess& daemon) {
  json extra = {{"Runtime", "python3.12"}, {"Handler", "app.handler"}};
  ASSERT_EQ(daemon.create_function("adder", extra, zip_of({{"app.py", kApp}})), 201);
  auto r = daemon.invoke("adder", R"({"a": 2, "b": 40})");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body << daemon.daemon_log();
  EXPECT_EQ(testsupport::header(r, "X-Amz-Function-Error"), "");
  EXPECT_EQ(body_json(r), json({{"sum", 42}}));
}

bool is_executable(const std::filesystem::path& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & S_IXUSR);
}

TEST(InstallTest, InstalledDaemonFindsItsInitAndRuntimesUnderThePrefix) {
  TempDir prefix("rt-install");
  const std::string command = std::string(RUNTIMED_CMAKE_COMMAND) + " --install " +
                              RUNTIMED_BUILD_DIR + " --prefix " + prefix.path().string() +
                              " >/dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  const auto runtimes = prefix.path() / "share/runtimed/runtimes";
  EXPECT_TRUE(is_executable(prefix.path() / "bin/runtimed"));
  EXPECT_TRUE(is_executable(prefix.path() / "bin/runtimed-init"));
  EXPECT_TRUE(std::filesystem::is_regular_file(runtimes / "python/bootstrap.py"));
  EXPECT_TRUE(std::filesystem::is_regular_file(runtimes / "nodejs/bootstrap.cjs"));
  EXPECT_TRUE(is_executable(runtimes / "shell/bootstrap"));

  DaemonProcess daemon({"--log-level", "info"}, {}, {}, prefix.path() / "bin/runtimed");
  expect_python_function_runs(daemon);
  // It read the installed copies, not the source tree's.
  const std::string log = daemon.daemon_log();
  EXPECT_NE(log.find("managed runtimes from " + runtimes.string()), std::string::npos) << log;
  EXPECT_NE(log.find("sandbox init " + (prefix.path() / "bin/runtimed-init").string()),
            std::string::npos)
      << log;
  testsupport::expect_clean_stop(daemon);
}

TEST(InstallTest, BinaryOutsideTheBuildTreeFindsTheSourceRuntimes) {
  // The binary's parent has no share/runtimed and no runtimes/ two levels up, as in a build
  // directory outside the source tree.
  TempDir elsewhere("rt-elsewhere");
  const auto bin = elsewhere.path() / "bin";
  std::filesystem::create_directories(bin);
  for (const char* name : {"runtimed", "runtimed-init"})
    std::filesystem::copy_file(testsupport::bin_path(name), bin / name);

  DaemonProcess daemon({"--log-level", "info"}, {}, {}, bin / "runtimed");
  expect_python_function_runs(daemon);
  const std::string log = daemon.daemon_log();
  EXPECT_NE(log.find("managed runtimes from " + testsupport::source_path("runtimes").string()),
            std::string::npos)
      << log;
  testsupport::expect_clean_stop(daemon);
}

}  // namespace
