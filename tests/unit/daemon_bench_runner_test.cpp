// run_bench against a loopback Invoke server in the test process: its uncounted first call (the
// probe, and --no-probe without it) and the duration its rate is computed from.
#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>

#include "runtimed/bench/bench_runner.hpp"

namespace runtimed::bench {
namespace {

// Answers Invoke of the function `fn` with `{}` (no log tail: another host's answer), 404
// otherwise, and counts the calls it answered.
class InvokeServer {
 public:
  InvokeServer() {
    server_.Post(R"(/2015-03-31/functions/([^/]+)/invocations)",
                 [this](const httplib::Request& req, httplib::Response& res) {
                   ++calls_;
                   if (req.matches[1] != "fn") {
                     res.status = 404;
                     return;
                   }
                   res.set_content("{}", "application/json");
                 });
    server_.set_tcp_nodelay(true);  // headers and body are two writes: no 40 ms Nagle stall
    port_ = server_.bind_to_any_port("127.0.0.1");
    serving_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~InvokeServer() {
    server_.stop();
    serving_.join();
  }
  InvokeServer(const InvokeServer&) = delete;
  InvokeServer& operator=(const InvokeServer&) = delete;

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  size_t calls() const { return calls_; }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread serving_;
  std::atomic<size_t> calls_{0};
};

BenchOptions warm_run(const InvokeServer& server, size_t count, const std::string& function) {
  BenchOptions o;
  o.endpoint = server.endpoint();
  o.function = function;
  o.mode = Mode::Warm;
  o.count = count;
  return o;
}

TEST(BenchRunner, TheProbeIsOneUncountedCallFirstAndNoProbeLeavesItOut) {
  InvokeServer server;
  auto probed = run_bench(warm_run(server, 3, "fn"));
  ASSERT_TRUE(probed) << probed.error();
  EXPECT_EQ(probed->samples.size(), 3u);
  EXPECT_EQ(server.calls(), 4u);

  BenchOptions unprobed = warm_run(server, 3, "fn");
  unprobed.probe = false;
  auto run = run_bench(unprobed);
  ASSERT_TRUE(run) << run.error();
  EXPECT_EQ(run->samples.size(), 3u);
  EXPECT_EQ(server.calls(), 7u);  // the first counted call is the first the endpoint saw
  for (const Sample& s : run->samples) EXPECT_EQ(s.status, 200);
}

TEST(BenchRunner, AnUnknownFunctionIsRefusedByTheProbeAndCountedAsErrorsWithout) {
  InvokeServer server;
  auto probed = run_bench(warm_run(server, 2, "other"));
  ASSERT_FALSE(probed);
  EXPECT_NE(probed.error().find("not found"), std::string::npos) << probed.error();

  BenchOptions unprobed = warm_run(server, 2, "other");
  unprobed.probe = false;
  auto run = run_bench(unprobed);
  ASSERT_TRUE(run) << run.error();
  ASSERT_EQ(run->samples.size(), 2u);
  EXPECT_EQ(run->samples[0].status, 404);
}

TEST(BenchRunner, TheDurationEndsWithTheLastCallNotWithTheProgressReportersWait) {
  // The progress reporter wakes every 250 ms; the duration once included its last wait, so a
  // short run's rate came out several times too low.
  InvokeServer server;
  size_t reports = 0;
  auto run = run_bench(warm_run(server, 5, "fn"),
                       [&](const Progress&, const std::vector<Sample>&) { ++reports; });
  ASSERT_TRUE(run) << run.error();
  ASSERT_EQ(run->samples.size(), 5u);
  double last_end_ms = 0;
  for (const Sample& s : run->samples)
    last_end_ms = std::max(last_end_ms, s.start_ms + s.latency_ms);
  const double duration_ms = run->duration_s * 1000;
  EXPECT_GE(duration_ms, last_end_ms);
  EXPECT_LT(duration_ms - last_end_ms, 100)
      << "duration " << duration_ms << " ms, last call ended at " << last_end_ms << " ms ("
      << reports << " reports)";
}

}  // namespace
}  // namespace runtimed::bench
