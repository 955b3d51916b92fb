// The web console (docs/console.md) from the real daemon: its files over HTTP (types, ETag, 404,
// no signature needed under --credentials while the API still wants one), then the whole console
// in headless Chromium driven by tests/console/console_e2e.mjs (puppeteer-core): create from a
// zip, invoke, a function error, logs followed while invoking, metrics, 360 px, update, delete;
// and a signed-in run. The page's JavaScript errors fail it; screenshots go to
// <build>/console-artifacts.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>

#include "tests/integration/daemon_test.hpp"

namespace {

using testsupport::header;

// Prints its event and GREETING; fails on {"fail":…} with a line on stderr (the log).
const char* kFunctionScript = R"SH(
handler() {
  case $1 in
    *'"fail"'*) echo "failing on purpose" >&2; exit 3 ;;
  esac
  echo "handling $1" >&2
  printf '{"hello":%s,"greeting":"%s"}' "$1" "$GREETING"
}
)SH";

// scripts/install-puppeteer.sh's install dir, or its exit status (75: npm unreachable).
struct PuppeteerInstall {
  std::string dir;
  int exit_status = -1;
};

const PuppeteerInstall& puppeteer_install() {
  static const PuppeteerInstall install = [] {
    PuppeteerInstall r;
    const std::string command = testsupport::source_path("scripts/install-puppeteer.sh").string();
    FILE* p = ::popen(command.c_str(), "r");
    if (p == nullptr) return r;
    char buf[4096];
    while (std::fgets(buf, sizeof buf, p) != nullptr) r.dir += buf;
    const int status = ::pclose(p);
    r.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    while (!r.dir.empty() && (r.dir.back() == '\n' || r.dir.back() == '\r')) r.dir.pop_back();
    return r;
  }();
  return install;
}

class DaemonConsoleTest : public testsupport::DaemonTest {
 protected:
  void write_credentials() {
    // An admin key: the Metrics page reads /metrics, which covers every account.
    std::ofstream(credentials_path()) << "[AKIACONSOLE]\nsecret_access_key = console-secret\n"
                                         "account_id = 000000000000\nadmin = true\n";
    ::chmod(credentials_path().c_str(), 0600);
  }
  std::string credentials_path() const { return (dir_.path() / "credentials").string(); }

  // Runs the browser test against the running daemon; `signed_in` signs in with the test's key.
  void run_browser(bool signed_in) {
    if (!std::filesystem::exists("/usr/bin/chromium") || !std::filesystem::exists("/usr/bin/node"))
      GTEST_SKIP() << "chromium or node missing (scripts/setup.sh installs them)";
    const PuppeteerInstall& install = puppeteer_install();
    if (install.exit_status == 75)
      GTEST_SKIP() << "npm registry unreachable: scripts/install-puppeteer.sh (see above)";
    ASSERT_EQ(install.exit_status, 0) << "scripts/install-puppeteer.sh failed (see above)";
    const auto zip_path = dir_.path() / "hello.zip";
    std::ofstream(zip_path, std::ios::binary) << testsupport::zip_of(
        {{"function.sh", kFunctionScript}}, testsupport::source_path("runtimes/shell/bootstrap"));
    // The same function as a folder, answering differently: the console zips it in the browser.
    const auto folder = dir_.path() / "code-folder";
    std::filesystem::create_directories(folder / "lib");
    std::ofstream(folder / "function.sh")
        << "handler() { . \"$LAMBDA_TASK_ROOT/lib/answer.sh\"; }\n";
    std::ofstream(folder / "lib" / "answer.sh") << "printf '{\"from\":\"a folder\"}'\n";
    std::filesystem::copy_file(testsupport::source_path("runtimes/shell/bootstrap"),
                               folder / "bootstrap");
    std::filesystem::permissions(folder / "bootstrap", std::filesystem::perms::owner_read |
                                                           std::filesystem::perms::owner_write);
    const auto artifacts =
        testsupport::bin_path("runtimed").parent_path().parent_path() / "console-artifacts";
    std::vector<std::string> env = {
        "PATH=/usr/bin:/bin",
        "HOME=" + dir_.path().string(),
        "CONSOLE_URL=http://127.0.0.1:" + std::to_string(daemon_->port()) + "/console/",
        "ZIP_PATH=" + zip_path.string(),
        "FOLDER_PATH=" + folder.string(),
        "ARTIFACTS=" + artifacts.string(),
        "PUPPETEER_DIR=" + install.dir,
        "RUNTIMED_BIN=" + testsupport::bin_path("runtimed").string(),
        "CHROMIUM=/usr/bin/chromium"};
    if (signed_in) {
      env.push_back("ACCESS_KEY_ID=AKIACONSOLE");
      env.push_back("SECRET_ACCESS_KEY=console-secret");
    }
    const auto run = testsupport::run_command(
        {"/usr/bin/node", testsupport::source_path("tests/console/console_e2e.mjs").string()}, env);
    EXPECT_EQ(run.status, 0) << run << "\nscreenshots: " << artifacts << "\n"
                             << daemon_->daemon_log();
  }

  testsupport::TempDir dir_{"rt-console"};
};

TEST_F(DaemonConsoleTest, ServesItsFilesWithTypesAndRevalidationBesideTheLambdaApi) {
  start();
  auto c = daemon_->client();
  auto index = c.Get("/console/");
  ASSERT_TRUE(index);
  EXPECT_EQ(index->status, 200);
  EXPECT_EQ(header(index, "Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(header(index, "Cache-Control"), "no-cache");
  EXPECT_NE(header(index, "Content-Security-Policy").find("script-src 'self'"), std::string::npos);
  EXPECT_NE(index->body.find("<script type=\"module\" src=\"app.js\">"), std::string::npos);
  auto again = c.Get("/console/", {{"If-None-Match", header(index, "ETag")}});
  EXPECT_EQ(again->status, 304);
  EXPECT_TRUE(again->body.empty());
  auto app = c.Get("/console/app.js");
  EXPECT_EQ(app->status, 200);
  EXPECT_EQ(header(app, "Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(c.Get("/console/vendor/uPlot.esm.js")->status, 200);
  EXPECT_EQ(header(c.Get("/console/style.css"), "Content-Type"), "text/css; charset=utf-8");
  auto settings = c.Get("/console/config.json");
  EXPECT_EQ(nlohmann::json::parse(settings->body),
            nlohmann::json::parse(R"({"signIn":false,"region":"us-east-1"})"));
  auto missing = c.Get("/console/nope.js");
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(header(missing, "x-amzn-ErrorType"), "ResourceNotFoundException");
  auto bare = c.Get("/console");
  EXPECT_EQ(bare->status, 301);
  EXPECT_EQ(header(bare, "Location"), "/console/");
  EXPECT_EQ(c.Get("/2015-03-31/functions")->status, 200);
}

TEST_F(DaemonConsoleTest, UnderCredentialsServesItsFilesUnsignedButNotTheApi) {
  write_credentials();
  start({"--credentials", credentials_path()});
  auto c = daemon_->client();
  EXPECT_EQ(c.Get("/console/")->status, 200);
  EXPECT_EQ(nlohmann::json::parse(c.Get("/console/config.json")->body)["signIn"], true);
  EXPECT_EQ(c.Get("/2015-03-31/functions")->status, 403);
  EXPECT_EQ(c.Post("/console/app.js", "x", "text/plain")->status, 403) << "only GET is let through";
}

TEST_F(DaemonConsoleTest, InChromiumCreatesInvokesFollowsLogsChartsAndDeletesAFunction) {
  start();
  run_browser(false);
}

TEST_F(DaemonConsoleTest, InChromiumSignsInAndSignsItsRequests) {
  write_credentials();
  start({"--credentials", credentials_path()});
  run_browser(true);
}

}  // namespace
