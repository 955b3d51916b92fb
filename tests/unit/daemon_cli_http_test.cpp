// The client against a fake daemon (an in-process httplib server): exit codes, output, paging.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <thread>

#include "common/base64.hpp"
#include "runtimed/cli/cli_commands.hpp"
#include "runtimed/cli/cli_http.hpp"
#include "runtimed/cli/cli_requests.hpp"

namespace {

struct Outcome {
  int status = -1;
  std::string out;
  std::string err;
};

class FakeDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // bind_to_any_port already listens: connections queue until the accept loop runs.
  }
  void TearDown() override {
    server_.stop();
    thread_.join();
  }

  // Runs `runtimed ARGS --endpoint <fake>` in-process, capturing what it prints.
  Outcome run(std::vector<std::string> args) {
    args.insert(args.begin(), "runtimed");
    args.push_back("--endpoint");
    args.push_back("http://127.0.0.1:" + std::to_string(port_));
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    CLI::App app;
    runtimed::ClientCommands commands;
    runtimed::add_client_commands(app, commands);
    app.parse(static_cast<int>(argv.size()), argv.data());
    Outcome o;
    testing::internal::CaptureStdout();
    testing::internal::CaptureStderr();
    o.status = runtimed::run_client_command(commands).value_or(-1);
    o.out = testing::internal::GetCapturedStdout();
    o.err = testing::internal::GetCapturedStderr();
    return o;
  }

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

void not_found(httplib::Response& res, const std::string& message) {
  res.status = 404;
  res.set_header("x-amzn-ErrorType", "ResourceNotFoundException");
  res.set_content(R"({"Type":"User","message":")" + message + R"("})", "application/json");
}

TEST_F(FakeDaemonTest, ListFollowsNextMarkerToTheEnd) {
  server_.Get("/2015-03-31/functions/", [](const httplib::Request& req, httplib::Response& res) {
    if (req.get_param_value("Marker").empty())
      res.set_content(
          R"({"Functions":[{"FunctionName":"a","Runtime":"provided","MemorySize":128,"Timeout":3,"LastModified":"t1"}],"NextMarker":"a"})",
          "application/json");
    else
      res.set_content(
          R"({"Functions":[{"FunctionName":"b","Runtime":"python3.12","MemorySize":256,"Timeout":9,"LastModified":"t2"}]})",
          "application/json");
  });
  auto o = run({"list"});
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out,
            "NAME  RUNTIME     MEMORY  TIMEOUT  LAST-MODIFIED\n"
            "a     provided    128     3        t1\n"
            "b     python3.12  256     9        t2\n");
}

TEST_F(FakeDaemonTest, InvokeSuccessPrintsBodyWithNewlineAndExitsZero) {
  std::string invocation_type;
  server_.Post("/2015-03-31/functions/fn/invocations",
               [&](const httplib::Request& req, httplib::Response& res) {
                 invocation_type = req.get_header_value("X-Amz-Invocation-Type");
                 res.set_content(req.body, "application/json");
               });
  auto o = run({"invoke", "fn", "--payload", R"({"a":1})"});
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, "{\"a\":1}\n");
  EXPECT_EQ(invocation_type, "RequestResponse");
}

TEST_F(FakeDaemonTest, InvokeFunctionErrorExitsOneAndLogGoesToStderr) {
  std::string log_type;
  server_.Post("/2015-03-31/functions/fn/invocations",
               [&](const httplib::Request& req, httplib::Response& res) {
                 log_type = req.get_header_value("X-Amz-Log-Type");
                 res.set_header("X-Amz-Function-Error", "Unhandled");
                 res.set_header("X-Amz-Log-Result", common::base64_encode("START\nboom\n"));
                 res.set_content(R"({"errorMessage":"boom"})", "application/json");
               });
  auto o = run({"invoke", "fn", "--log"});
  EXPECT_EQ(o.status, 1);
  EXPECT_EQ(o.out, "{\"errorMessage\":\"boom\"}\n");
  EXPECT_EQ(o.err, "START\nboom\n");
  EXPECT_EQ(log_type, "Tail");
}

TEST_F(FakeDaemonTest, ApiErrorPrintsTypeAndMessageAndExitsTwo) {
  server_.Get("/2015-03-31/functions/fn", [](const httplib::Request&, httplib::Response& res) {
    not_found(res, "Function not found: fn");
  });
  auto o = run({"get", "fn"});
  EXPECT_EQ(o.status, 2);
  EXPECT_EQ(o.out, "");
  EXPECT_EQ(o.err, "runtimed: ResourceNotFoundException: Function not found: fn\n");
}

TEST_F(FakeDaemonTest, UpdateStopsAtTheFirstFailingCall) {
  int config_calls = 0;
  server_.Put("/2015-03-31/functions/fn/code",
              [](const httplib::Request&, httplib::Response& res) { not_found(res, "nope"); });
  server_.Put("/2015-03-31/functions/fn/configuration",
              [&](const httplib::Request&, httplib::Response& res) {
                ++config_calls;
                res.set_content("{}", "application/json");
              });
  const std::string zip = testing::TempDir() + "/cli-http-test.zip";
  std::ofstream(zip) << "PK";
  auto o = run({"update", "fn", "--zip", zip, "--memory", "256"});
  EXPECT_EQ(o.status, 2);
  EXPECT_EQ(config_calls, 0);
}

TEST_F(FakeDaemonTest, LogsStreamsChunkedBodyToStdout) {
  std::string query;
  server_.Get("/runtimed/v1/functions/fn/logs",
              [&](const httplib::Request& req, httplib::Response& res) {
                query = req.get_param_value("follow") + "," + req.get_param_value("tail");
                res.set_chunked_content_provider(
                    "text/plain", [n = 0](size_t, httplib::DataSink& sink) mutable {
                      if (n++ < 3) {
                        const std::string line = "line " + std::to_string(n) + "\n";
                        sink.write(line.data(), line.size());
                      } else {
                        sink.done();
                      }
                      return true;
                    });
              });
  auto o = run({"logs", "fn", "--follow", "--tail", "5"});
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, "line 1\nline 2\nline 3\n");
  EXPECT_EQ(query, "1,5");
}

TEST_F(FakeDaemonTest, LogsErrorBodyIsNotPrintedAsLogs) {
  server_.Get("/runtimed/v1/functions/fn/logs",
              [](const httplib::Request&, httplib::Response& res) { not_found(res, "no fn"); });
  auto o = run({"logs", "fn"});
  EXPECT_EQ(o.status, 2);
  EXPECT_EQ(o.out, "");
  EXPECT_EQ(o.err, "runtimed: ResourceNotFoundException: no fn\n");
}

TEST_F(FakeDaemonTest, LogsShowPythonsCarriageReturnJoinedRecordsAsLines) {
  server_.Get("/runtimed/v1/functions/fn/logs", [](const httplib::Request&,
                                                   httplib::Response& res) {
    res.set_header("X-Runtimed-Log-Start", "0");
    res.set_content(
        "[ERROR] ValueError: bad\rTraceback (most recent call last):\r  File \"h.py\", line 1\r\n"
        "END RequestId: 1\n",
        "text/plain");
  });
  auto o = run({"logs", "fn"});
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out,
            "[ERROR] ValueError: bad\nTraceback (most recent call last):\n  File \"h.py\", line 1\n"
            "END RequestId: 1\n");
  EXPECT_EQ(o.err, "");  // the whole log was shown
}

TEST(CliLogText, CarriageReturnSplitAcrossChunksIsOneNewline) {
  bool after_cr = false;
  EXPECT_EQ(runtimed::readable_log_text("a\r", after_cr), "a\n");
  EXPECT_EQ(runtimed::readable_log_text("\nb\r\rc", after_cr), "b\n\nc");
  EXPECT_EQ(runtimed::readable_log_text("\n", after_cr), "\n");
}

TEST_F(FakeDaemonTest, LogsSayOnStderrWhenOnlyTheLast64KiBAreShown) {
  server_.Get("/runtimed/v1/functions/fn/logs",
              [](const httplib::Request&, httplib::Response& res) {
                res.set_header("X-Runtimed-Log-Start", "70000");
                res.set_header("X-Runtimed-Log-Offset", "135536");
                res.set_content("last line\n", "text/plain");
              });
  auto o = run({"logs", "fn"});
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, "last line\n");
  EXPECT_EQ(o.err,
            "runtimed: showing the last 64 KiB of the log; use --tail N for the last N lines or "
            "--all for all of it\n");
  // --tail asked for a number of lines: no note.
  EXPECT_EQ(run({"logs", "fn", "--tail", "1"}).err, "");
}

TEST_F(FakeDaemonTest, LogsAllReadsFromTheStartUntilNothingIsLeft) {
  std::vector<std::string> offsets;
  server_.Get("/runtimed/v1/functions/fn/logs",
              [&](const httplib::Request& req, httplib::Response& res) {
                const std::string offset = req.get_param_value("offset");
                offsets.push_back(offset);
                res.set_header("X-Runtimed-Log-Start", offset);
                if (offset == "0") {
                  res.set_header("X-Runtimed-Log-Offset", "6");
                  res.set_content("first\n", "text/plain");
                } else if (offset == "6") {
                  res.set_header("X-Runtimed-Log-Offset", "13");
                  res.set_content("second\n", "text/plain");
                } else {
                  res.set_header("X-Runtimed-Log-Offset", offset);
                  res.set_content("", "text/plain");
                }
              });
  auto o = run({"logs", "fn", "--all"});
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, "first\nsecond\n");
  EXPECT_EQ(o.err, "");
  EXPECT_EQ(offsets, (std::vector<std::string>{"0", "6", "13"}));
}

TEST_F(FakeDaemonTest, DeleteIsQuietOnSuccess) {
  bool deleted = false;
  server_.Delete("/2015-03-31/functions/fn", [&](const httplib::Request&, httplib::Response& res) {
    deleted = true;
    res.status = 204;
  });
  auto o = run({"delete", "fn"});
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_TRUE(deleted);
  EXPECT_EQ(o.out, "");
}

TEST(CliHttp, UnreachableDaemonIsAConnectionError) {
  // A socket bound but not listening: connecting to its port is refused.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string endpoint = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  runtimed::DaemonClient client(endpoint, std::chrono::seconds(5));
  auto res = client.send({"GET", "/runtimed/v1/health"});
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().rfind("cannot reach " + endpoint + ": ", 0), 0u) << res.error();
  ::close(fd);
}

TEST(CliHttp, ApiErrorTextFallsBackWhenHeaderOrJsonIsMissing) {
  EXPECT_EQ(runtimed::api_error_text(429, "TooManyRequestsException", R"({"message":"slow"})"),
            "TooManyRequestsException: slow");
  EXPECT_EQ(runtimed::api_error_text(502, "", "bad gateway\n"), "HTTP 502: bad gateway");
  EXPECT_EQ(runtimed::api_error_text(500, "ServiceException", ""),
            "ServiceException: (no message)");
  EXPECT_EQ(runtimed::api_error_text(400, "X:http://internal", R"({"Message":"m"})"), "X: m");
}

}  // namespace
