// Benchmark: client-observed cold start, warm invoke latency (p50/p99) and warm throughput at
// concurrency 1/8/32 through the real daemon with a no-op keep-alive C runtime, each printed beside
// a bare loopback HTTP round trip and a bare fork+exec+wait measured in the same run. With --tls,
// also warm invoke over HTTPS with keep-alive (a second daemon with --tls-cert), interleaved
// request by request with plain HTTP so both see the same machine.
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_support.hpp"
#include "tests/integration/daemon_process.hpp"
#include "tests/tls_test_support.hpp"

using namespace bench;

namespace {

void warm_throughput_row(int concurrency, int daemon_port, int bare_port, const std::string& path) {
  const double bare_rate = throughput(bare_port, "/", concurrency, 2.0);
  std::atomic<uint64_t> refused{0};
  const double rate = throughput(daemon_port, path, concurrency, 3.0, "{}", "", &refused);
  std::printf("%-44s %12.0f %11.2fx   (bare server %.0f/s)\n",
              fmt::format("concurrency {}", concurrency).c_str(), rate, rate / bare_rate,
              bare_rate);
  if (refused > 0) std::printf("  (%llu non-2xx answers)\n", (unsigned long long)refused.load());
}

// Warm invoke p50/p99 over plain HTTP and over HTTPS, both keep-alive, alternating request by
// request; the TLS daemon is started here with a PKI made for the run.
void tls_rows(int runs, int plain_port, const std::string& path) {
  testsupport::TempDir pki_dir("rt-bench-pki");
  const auto pki = testsupport::make_test_pki(pki_dir.path());
  testsupport::DaemonProcess tls_daemon({"--freeze-after", "600000", "--prepared-pool", "8",
                                         "--tls-cert", pki.server_cert.string(), "--tls-key",
                                         pki.server_key.string()});
  tls_daemon.trust(pki.ca_cert);
  if (tls_daemon.create_function("noop") != 201) die("create noop on the TLS daemon");
  Connection plain(plain_port);
  testsupport::TlsConnection tls(tls_daemon.port(), pki.ca_cert);
  std::string body;
  for (int i = 0; i < 100; ++i) {
    plain.request("POST", path, "{}");
    tls.request("POST", path, "{}");
  }
  std::vector<double> plain_us, tls_us;
  for (int i = 0; i < runs; ++i) {
    auto t0 = Clock::now();
    if (plain.request("POST", path, "{}", &body) != 200) die("warm invoke: " + body);
    plain_us.push_back(us(Clock::now() - t0));
    t0 = Clock::now();
    if (tls.request("POST", path, "{}", &body) != 200) die("warm invoke over TLS: " + body);
    tls_us.push_back(us(Clock::now() - t0));
  }
  const Stats p = stats(plain_us), t = stats(tls_us);
  std::printf("\n%-44s %10s %10s %12s\n", "warm invoke, keep-alive (interleaved)", "p50 µs",
              "p99 µs", "ratio p50");
  std::printf("%-44s %10.1f %10.1f %12s\n", "plain HTTP", p.p50, p.p99, "1.0x");
  std::printf("%-44s %10.1f %10.1f %11.2fx\n", ("HTTPS (" + tls.version() + ")").c_str(), t.p50,
              t.p99, t.p50 / p.p50);
  std::printf("%-44s %10.1f %10.1f %12s\n", "  TLS added = HTTPS - plain", t.p50 - p.p50,
              t.p99 - p.p99, "");
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 2000;
  int cold_runs = 100;
  bool with_tls = false;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--tls") with_tls = true;
  }
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--runs") runs = std::atoi(argv[i + 1]);
    if (std::string(argv[i]) == "--cold-runs") cold_runs = std::atoi(argv[i + 1]);
  }
  testsupport::DaemonProcess daemon({"--freeze-after", "600000", "--prepared-pool", "8"});
  Connection api(daemon.port());
  std::string body;
  // The function: the static keep-alive C runtime as bootstrap.
  if (daemon.create_function("noop") != 201) die("create noop");
  const std::string invoke_path = "/2015-03-31/functions/noop/invocations";

  // Baselines, same run.
  BareServer bare;
  std::vector<double> bare_rt, spawn_us;
  {
    Connection c(bare.port());
    for (int i = 0; i < runs; ++i) {
      const auto t0 = Clock::now();
      c.request("POST", "/", "{}");
      bare_rt.push_back(us(Clock::now() - t0));
    }
  }
  const std::string probe = testsupport::bin_path("rt-probe").string();
  for (int i = 0; i < 200; ++i) spawn_us.push_back(1000 * bare_run_ms({probe, "exit", "0"}));

  // Cold starts: each one after a configuration change retired the warm environment, with arrivals
  // spaced out (the RCU cost of cgroup attaches shows only when they are spaced).
  std::vector<double> cold;
  for (int i = 0; i < cold_runs; ++i) {
    const std::string put = R"({"Description":"run )" + std::to_string(i) + R"("})";
    if (api.request("PUT", "/2015-03-31/functions/noop/configuration", put, &body) != 200)
      die("update: " + body);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const auto t0 = Clock::now();
    if (api.request("POST", invoke_path, "{}", &body) != 200) die("cold invoke: " + body);
    cold.push_back(us(Clock::now() - t0));
  }
  // Warm latency at concurrency 1.
  std::vector<double> warm;
  for (int i = 0; i < 100; ++i) api.request("POST", invoke_path, "{}");
  for (int i = 0; i < runs; ++i) {
    const auto t0 = Clock::now();
    if (api.request("POST", invoke_path, "{}", &body) != 200) die("warm invoke: " + body);
    warm.push_back(us(Clock::now() - t0));
  }
  const Stats b = stats(bare_rt), s = stats(spawn_us), c = stats(cold), w = stats(warm);
  std::printf("\n%-44s %10s %10s %12s\n", "measurement (same run)", "p50 µs", "p99 µs",
              "ratio p50");
  std::printf("%-44s %10.1f %10.1f %12s\n", "bare loopback HTTP round trip", b.p50, b.p99, "1.0x");
  std::printf("%-44s %10.1f %10.1f %12s\n", "bare fork+exec+wait (static probe)", s.p50, s.p99,
              "-");
  std::printf("%-44s %10.1f %10.1f %11.1fx\n", "warm invoke (client-observed)", w.p50, w.p99,
              w.p50 / b.p50);
  std::printf("%-44s %10.1f %10.1f %12s\n", "  platform overhead = warm - bare round trip",
              w.p50 - b.p50, w.p99 - b.p99, "");
  std::printf("%-44s %10.1f %10.1f %11.1fx\n", "cold invoke (client-observed, 20 ms apart)", c.p50,
              c.p99, c.p50 / s.p50);
  std::printf("%-44s %10.1f %10.1f %12s\n", "  cold - warm", c.p50 - w.p50, c.p99 - w.p99, "");

  std::printf("\n%-44s %12s %12s\n", "warm throughput", "invokes/s", "vs bare");
  for (int concurrency : {1, 8, 32})
    warm_throughput_row(concurrency, daemon.port(), bare.port(), invoke_path);
  if (with_tls) tls_rows(runs, daemon.port(), invoke_path);
  return 0;
}
