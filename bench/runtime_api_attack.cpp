// Benchmark: another function's warm invoke latency (p50/p99) quiet, then while a hostile function
// holds hundreds of connections with unfinished heads to its own Runtime API
// (tests/functions/hostile_conns.c), as a ratio; and the daemon's RSS before and during the attack.
// Target (docs/limits.md): p99 under attack within 2x of quiet, RSS growth <= 32 MiB.
#include <fmt/format.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_support.hpp"
#include "tests/integration/daemon_process.hpp"

using namespace bench;

namespace {

// `runs` warm invocations of `path` on one keep-alive connection: latencies in microseconds.
std::vector<double> warm_latencies(int port, const std::string& path, int runs) {
  Connection c(port);
  std::vector<double> out;
  out.reserve(static_cast<size_t>(runs));
  for (int i = 0; i < runs; ++i) {
    const auto t0 = Clock::now();
    if (c.request("POST", path, "{}") != 200) die("victim invoke failed");
    out.push_back(us(Clock::now() - t0));
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 2000;
  int connections = 300;
  long head_bytes = 1900000;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--runs") runs = std::atoi(argv[i + 1]);
    if (std::string(argv[i]) == "--connections") connections = std::atoi(argv[i + 1]);
    if (std::string(argv[i]) == "--head-bytes") head_bytes = std::atol(argv[i + 1]);
  }
  testsupport::DaemonProcess daemon({"--freeze-after", "600000"});
  if (daemon.create_function("victim") != 201) die("create victim");
  if (daemon.create_function(
          "hostile", {{"Timeout", 900}},
          testsupport::function_zip(testsupport::bin_path("fn-hostile_conns"))) != 201)
    die("create hostile");
  const std::string victim = "/2015-03-31/functions/victim/invocations";
  warm_latencies(daemon.port(), victim, 200);  // warm-up
  {
    auto r = daemon.invoke("hostile", "{}");
    if (!r || r->status != 200) die("warm hostile");
  }

  // Quiet and attacked runs alternate (quiet, attack, quiet, attack) so that drift on this shared
  // machine shows up in both.
  std::vector<double> quiet, attacked;
  long rss_before = testsupport::rss_kib(daemon.pid()), rss_peak = rss_before;
  for (int round = 0; round < 2; ++round) {
    auto q = warm_latencies(daemon.port(), victim, runs / 2);
    quiet.insert(quiet.end(), q.begin(), q.end());
    // Long enough to outlast the measurement; the attacker is killed when the invocation ends.
    auto attack = std::async(std::launch::async, [&] {
      return daemon.invoke("hostile", fmt::format(R"({{"connections":{},"head_bytes":{},"ms":{}}})",
                                                  connections, head_bytes, 12000));
    });
    std::this_thread::sleep_for(std::chrono::seconds(2));  // the attack is under way
    std::atomic<bool> sampling{true};
    std::thread sampler([&] {
      while (sampling) {
        rss_peak = std::max(rss_peak, testsupport::rss_kib(daemon.pid()));
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
    auto a = warm_latencies(daemon.port(), victim, runs / 2);
    attacked.insert(attacked.end(), a.begin(), a.end());
    sampling = false;
    sampler.join();
    auto r = attack.get();
    if (!r || r->status != 200) die("hostile invocation failed");
    if (round == 0) std::printf("attacker: %s\n", r->body.c_str());
  }
  const Stats sq = stats(quiet), sa = stats(attacked);
  std::printf("%-44s %10s %10s\n", "victim warm invoke (us)", "p50", "p99");
  std::printf("%-44s %10.0f %10.0f\n", "quiet", sq.p50, sq.p99);
  std::printf("%-44s %10.0f %10.0f\n",
              fmt::format("under attack ({} conns, {} B heads)", connections, head_bytes).c_str(),
              sa.p50, sa.p99);
  std::printf("%-44s %9.2fx %9.2fx   (target p99 <= 2x)\n", "ratio attack/quiet", sa.p50 / sq.p50,
              sa.p99 / sq.p99);
  std::printf("daemon RSS: %ld KiB before, %ld KiB peak under attack (%+ld KiB; target <= 32768)\n",
              rss_before, rss_peak, rss_peak - rss_before);
  return 0;
}
