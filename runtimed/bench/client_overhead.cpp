// The bench's client overhead against a bare loopback server (see client_overhead.hpp).
#include "runtimed/bench/client_overhead.hpp"

#include <atomic>
#include <thread>

#include "common/base64.hpp"
#include "runtimed/bench/bench_client.hpp"

namespace runtimed::bench {

namespace {

using Clock = std::chrono::steady_clock;

// The answer a warm runtimed invocation gives: its headers, a REPORT tail, a small body.
void answer_invoke(const httplib::Request&, httplib::Response& res) {
  static const std::string tail = common::base64_encode(
      "START RequestId: 00000000-0000-0000-0000-000000000000 Version: $LATEST\n"
      "END RequestId: 00000000-0000-0000-0000-000000000000\n"
      "REPORT RequestId: 00000000-0000-0000-0000-000000000000\tDuration: 0.05 ms\t"
      "Billed Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 2 MB\t\n");
  res.status = 200;
  res.set_header("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000");
  res.set_header("X-Amz-Executed-Version", "$LATEST");
  res.set_header("X-Amz-Log-Result", tail);
  res.set_content("{}", "application/json");
}

}  // namespace

std::expected<ClientOverhead, std::string> measure_client_overhead(
    size_t serial_calls, size_t workers, std::chrono::milliseconds rate_duration) {
  workers = std::max<size_t>(1, workers);
  httplib::Server server;
  // One server thread per keep-alive connection, and a spare.
  server.new_task_queue = [workers] { return new httplib::ThreadPool(workers + 1); };
  server.set_tcp_nodelay(true);
  server.Post(R"(/2015-03-31/functions/([^/]+)/invocations)", answer_invoke);
  const int port = server.bind_to_any_port("127.0.0.1");
  if (port <= 0) return std::unexpected("baseline: cannot bind a loopback port");
  std::thread serving([&] { server.listen_after_bind(); });
  // This cpp-httplib has no wait_until_ready: the socket is bound, so wait for the loop.
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const std::string endpoint = "http://127.0.0.1:" + std::to_string(port);
  const Target target = target_of("baseline");

  ClientOverhead out;
  out.workers = workers;
  {
    auto client = client_for(endpoint);
    for (int i = 0; i < 50; ++i) invoke_once(*client, target, "{}");
    std::vector<double> latencies;
    latencies.reserve(serial_calls);
    for (size_t i = 0; i < serial_calls; ++i) {
      const auto t0 = Clock::now();
      const Sample s = invoke_once(*client, target, "{}");
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      if (s.status != 200 || !s.report) {
        server.stop();
        serving.join();
        return std::unexpected("baseline: the loopback server's answer was not read back: " +
                               s.error_type);
      }
      latencies.push_back(ms);
    }
    out.per_call = summarize_latency(std::move(latencies));
  }
  std::atomic<size_t> calls{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  const auto begin = Clock::now();
  for (size_t w = 0; w < workers; ++w) {
    threads.emplace_back([&] {
      auto client = client_for(endpoint);
      while (!stop) {
        if (invoke_once(*client, target, "{}").status == 200) ++calls;
      }
    });
  }
  std::this_thread::sleep_for(rate_duration);
  stop = true;
  for (auto& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - begin).count();
  out.max_rate = static_cast<double>(calls) / seconds;
  server.stop();
  serving.join();
  return out;
}

}  // namespace runtimed::bench
