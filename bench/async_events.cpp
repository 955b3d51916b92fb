// Benchmark: durable Event invocations accepted per second and drained per second for a no-op
// function, and the latency of a 429 answer under overload; beside, in the same run, a bare
// loopback HTTP round trip and a bare durable append (write + fdatasync) on the state dir's disk.
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_support.hpp"
#include "tests/integration/daemon_process.hpp"
#include "tests/integration/postgres_server.hpp"

using namespace bench;
using nlohmann::json;

namespace {

const std::string kEventHeader = "X-Amz-Invocation-Type: Event\r\n";

// The floor under a durable accept: append a small record and fdatasync it, one at a time.
Stats bare_durable_append_us(const std::filesystem::path& dir, int runs) {
  const auto path = dir / "bench-append";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) die("open " + path.string());
  const std::string record(200, 'e');
  std::vector<double> v;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = Clock::now();
    if (::write(fd, record.data(), record.size()) != static_cast<ssize_t>(record.size()) ||
        ::fdatasync(fd) != 0)
      die("append");
    v.push_back(us(Clock::now() - t0));
  }
  ::close(fd);
  std::filesystem::remove(path);
  return stats(std::move(v));
}

// Queued + in flight + waiting for a retry, from the backlog endpoint.
int64_t backlog(Connection& api, const std::string& function) {
  std::string body;
  if (api.request("GET", "/runtimed/v1/functions/" + function + "/async", "", &body) != 200)
    die("backlog: " + body);
  const json b = json::parse(body);
  return b["Queued"].get<int64_t>() + b["InFlight"].get<int64_t>() + b["Retrying"].get<int64_t>();
}

}  // namespace

int main(int argc, char** argv) {
  int events = 5000;
  int clients = 8;
  bool cluster = false;  // --cluster: the queue in a PostgreSQL of the bench's own (one node)
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--cluster") cluster = true;
    if (i + 1 == argc) break;
    if (std::string(argv[i]) == "--events") events = std::atoi(argv[i + 1]);
    if (std::string(argv[i]) == "--clients") clients = std::atoi(argv[i + 1]);
  }
  std::optional<testsupport::PostgresServer> postgres;
  std::vector<std::string> daemon_args = {"--freeze-after",   "600000", "--prepared-pool", "4",
                                          "--min-unreserved", "1"};
  if (cluster) {
    postgres.emplace(/*start_now=*/true, /*durable=*/true);
    daemon_args.insert(daemon_args.end(), {"--cluster", postgres->url()});
  }
  testsupport::DaemonProcess daemon(daemon_args);
  Connection api(daemon.port());
  for (const auto& [name, timeout_s] : {std::pair{"noop", 3}, std::pair{"capped", 30}})
    if (daemon.create_function(name, {{"Timeout", timeout_s}}) != 201)
      die("create " + std::string(name));

  // Baselines, same run.
  BareServer bare;
  std::vector<double> bare_rt;
  {
    Connection c(bare.port());
    for (int i = 0; i < 2000; ++i) {
      const auto t0 = Clock::now();
      c.request("POST", "/", "{}");
      bare_rt.push_back(us(Clock::now() - t0));
    }
  }
  const Stats rt = stats(bare_rt);
  const Stats append = bare_durable_append_us(daemon.state_dir(), 300);
  const double bare_rate = throughput(bare.port(), "/", clients, 2.0);

  // Accepted per second: `clients` callers share `events` Event invocations; the dispatchers run
  // them meanwhile, and drained per second counts from the first accept to an empty backlog.
  const std::string path = "/2015-03-31/functions/noop/invocations";
  std::atomic<int> next{0};
  std::atomic<int> refused{0};
  const auto t0 = Clock::now();
  std::vector<std::thread> senders;
  senders.reserve(static_cast<size_t>(clients));
  for (int i = 0; i < clients; ++i) {
    senders.emplace_back([&] {
      Connection c(daemon.port());
      while (next.fetch_add(1) < events)
        if (c.request("POST", path, R"({"n":1})", nullptr, kEventHeader) != 202) ++refused;
    });
  }
  for (auto& t : senders) t.join();
  const double accept_s = std::chrono::duration<double>(Clock::now() - t0).count();
  if (refused > 0) die(fmt::format("{} events were not accepted", refused.load()));
  while (backlog(api, "noop") > 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const double drain_s = std::chrono::duration<double>(Clock::now() - t0).count();
  std::string health;
  api.request("GET", "/runtimed/v1/health", "", &health);
  const auto cold_starts = json::parse(health).value("coldStarts", 0);

  // 429 under overload: "capped" may run one at a time and is busy sleeping; every further
  // synchronous call must be refused at once.
  std::string body;
  if (api.request("PUT", "/2017-10-31/functions/capped/concurrency",
                  R"({"ReservedConcurrentExecutions":1})", &body) != 200)
    die("put concurrency: " + body);
  const std::string capped = "/2015-03-31/functions/capped/invocations";
  if (api.request("POST", capped, "{}", &body) != 200) die("warm-up of capped: " + body);
  auto sleeper = [&] {
    return std::async(std::launch::async, [&] {
      Connection c(daemon.port());
      return c.request("POST", capped, R"({"action":"sleep","ms":8000})");
    });
  };
  auto busy = sleeper();
  for (int i = 0;; ++i) {  // until the sleeper holds the slot (a probe may take it first)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (busy.wait_for(std::chrono::seconds(0)) == std::future_status::ready) busy = sleeper();
    if (api.request("POST", capped, "{}") == 429) break;
    if (i > 100) die("the capped function never refused");
  }
  std::vector<double> refusals;
  for (int i = 0; i < 2000; ++i) {
    const auto t = Clock::now();
    if (api.request("POST", capped, "{}", &body) != 429) die("expected 429: " + body);
    refusals.push_back(us(Clock::now() - t));
  }
  // The 429 path's rate with 32 callers (throughput() counts them as non-2xx answers).
  std::atomic<uint64_t> refused_under_load{0};
  throughput(daemon.port(), capped, 32, 2.0, "{}", "", &refused_under_load);
  const double refusal_rate = static_cast<double>(refused_under_load) / 2.0;
  const double bare_rate32 = throughput(bare.port(), "/", 32, 2.0);
  const int busy_status = busy.get();
  const Stats r429 = stats(refusals);

  std::printf("\n%-48s %10s %10s %10s\n", "measurement (same run)", "p50 µs", "p99 µs",
              "ratio p50");
  std::printf("%-48s %10.1f %10.1f %10s\n", "bare loopback HTTP round trip", rt.p50, rt.p99,
              "1.0x");
  std::printf("%-48s %10.1f %10.1f %10s\n", "bare durable append (write+fdatasync)", append.p50,
              append.p99, "-");
  std::printf("%-48s %10.1f %10.1f %9.1fx\n", "429 answer, function at its reserved cap", r429.p50,
              r429.p99, r429.p50 / rt.p50);
  std::printf("\n%-48s %12s %14s\n", "rates", "per second", "vs baseline");
  std::printf("%-48s %12.0f %14s\n", fmt::format("bare loopback HTTP, {} clients", clients).c_str(),
              bare_rate, "1.0x");
  std::printf("%-48s %12.0f %14s\n", "bare durable appends, 1 writer", 1e6 / append.p50, "-");
  std::printf("%-48s %12.0f %13.2fx\n",
              fmt::format("Event accepted (202, durable), {} clients", clients).c_str(),
              events / accept_s, events / accept_s / bare_rate);
  std::printf(
      "%-48s %12.0f %14s\n",
      fmt::format("Event drained ({} no-op events, {} cold starts)", events, cold_starts).c_str(),
      events / drain_s, "-");
  std::printf("%-48s %12.0f %13.2fx   (bare server, 32 clients: %.0f/s)\n",
              "429 answers, 32 callers over the cap", refusal_rate, refusal_rate / bare_rate32,
              bare_rate32);
  if (busy_status != 200) std::printf("(the sleeping invocation answered %d)\n", busy_status);
  return 0;
}
