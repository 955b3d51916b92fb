// Benchmark: what forwarding a synchronous invoke to its function's home node costs (cluster mode,
// docs/cluster.md). Two `runtimed serve --cluster` nodes on a PostgreSQL of the bench's own, the
// same no-op function created on both; warm invokes sent straight to the home node and through
// the other one (which forwards them), in interleaved blocks so the machine's drift falls on both
// alike, printed beside a bare loopback HTTP round trip measured in the same run.
#include <fmt/format.h>
#include <httplib.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_support.hpp"
#include "runtimed/cluster/hash_ring.hpp"
#include "tests/integration/daemon_process.hpp"
#include "tests/integration/postgres_server.hpp"

using namespace bench;

namespace {

// The node that ran a call through `d`, from X-Runtimed-Node.
std::string ran_on(const testsupport::DaemonProcess& d, const std::string& name) {
  auto r = d.invoke(name, "{}");
  return r && r->status == 200 ? testsupport::header(r, "X-Runtimed-Node") : "";
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 5000;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string(argv[i]) == "--runs") runs = std::atoi(argv[i + 1]);
  testsupport::PostgresServer pg;
  // The ring says which of the three is noop's home. The home runs one io thread: a connection
  // landing on another io thread than the warm environment's pays a hand-off across CPUs, which
  // would charge one side or the other by the luck of where its connection landed (here every
  // connection to the home shares its one thread). Of the two forwarding nodes, one spins 50 µs
  // after work before sleeping (the default) and one does not: on this 2-core host the spin takes
  // a CPU from the home and its runtime, a cost of putting nodes on one host, not of the forward.
  const std::vector<std::string> ids = {"a", "b", "c"};
  const cluster::HashRing ring(ids);
  const std::string home_id = ring.nodes()[ring.walk("noop").front()];
  std::vector<std::string> forwarders;
  for (const auto& id : ids)
    if (id != home_id) forwarders.push_back(id);
  std::map<std::string, std::unique_ptr<testsupport::DaemonProcess>> nodes;
  for (const auto& id : ids) {
    std::vector<std::string> args = {
        "--cluster",      pg.url(), "--cluster-lease-seconds", "3", "--node-id", id,
        "--freeze-after", "600000", "--prepared-pool",         "4"};
    if (id == home_id) args.insert(args.end(), {"--io-threads", "1"});
    if (id == forwarders[0]) args.insert(args.end(), {"--io-spin-us", "0"});
    nodes[id] = std::make_unique<testsupport::DaemonProcess>(args);
  }
  // The catalog is shared: made through one node, every node serves it.
  if (nodes.begin()->second->create_function("noop") != 201) die("create noop");
  // Once all have heartbeaten with the others registered, all route to the home.
  bool agreed = false;
  for (int i = 0; i < 100 && !agreed; ++i) {
    agreed = true;
    for (auto& [id, n] : nodes) agreed = agreed && ran_on(*n, "noop") == home_id;
    if (!agreed) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!agreed) die("the nodes never agreed on noop's home " + home_id);
  testsupport::DaemonProcess& home = *nodes[home_id];

  const std::string path = "/2015-03-31/functions/noop/invocations";
  BareServer bare;
  struct Target {
    std::string label;
    std::unique_ptr<Connection> connection;
    std::string connection_path;
    std::vector<double> samples;
  };
  std::vector<Target> targets;
  targets.push_back(
      {"bare loopback HTTP round trip", std::make_unique<Connection>(bare.port()), "/", {}});
  targets.push_back(
      {"straight to the home node", std::make_unique<Connection>(home.port()), path, {}});
  targets.push_back({"forwarded by a node with --io-spin-us 0",
                     std::make_unique<Connection>(nodes[forwarders[0]]->port()),
                     path,
                     {}});
  targets.push_back({"forwarded by a node with the default spin (50)",
                     std::make_unique<Connection>(nodes[forwarders[1]]->port()),
                     path,
                     {}});
  std::string body;
  for (auto& t : targets)
    for (int i = 0; i < 200; ++i) t.connection->request("POST", t.connection_path, "{}");
  constexpr int kBlock = 100;
  for (int done = 0; done < runs; done += kBlock) {
    for (auto& t : targets) {
      for (int i = 0; i < kBlock; ++i) {
        const auto t0 = Clock::now();
        const int status = t.connection->request("POST", t.connection_path, "{}", &body);
        if (status != 200) die(t.label + ": " + body);
        t.samples.push_back(us(Clock::now() - t0));
      }
    }
  }
  const Stats b = stats(targets[0].samples), d = stats(targets[1].samples);
  std::printf("\n%-52s %10s %10s %12s\n", "warm invoke, concurrency 1 (same run)", "p50 µs",
              "p99 µs", "ratio p50");
  for (auto& t : targets) {
    const Stats s = stats(t.samples);
    std::printf("%-52s %10.1f %10.1f %11.1fx\n", t.label.c_str(), s.p50, s.p99, s.p50 / b.p50);
  }
  for (size_t i = 2; i < targets.size(); ++i) {
    const Stats f = stats(targets[i].samples);
    std::printf(
        "%-52s %10.1f %10.1f %11.1fx   %s\n",
        fmt::format("  added by the forward ({})", i == 2 ? "spin 0" : "spin 50").c_str(),
        f.p50 - d.p50, f.p99 - d.p99, (f.p50 - d.p50) / b.p50,
        f.p50 - d.p50 <= 150.0 ? "(target <= 150 µs p50: met)" : "(target <= 150 µs p50: missed)");
  }

  std::printf("\n%-52s %12s %12s\n", "warm throughput (3 s each)", "invokes/s", "vs straight");
  for (int concurrency : {1, 8}) {
    const double straight = throughput(home.port(), path, concurrency, 3.0);
    std::printf("%-52s %12.0f %12s\n", fmt::format("concurrency {}, straight", concurrency).c_str(),
                straight, "1.00x");
    for (size_t i = 0; i < forwarders.size(); ++i) {
      const double through = throughput(nodes[forwarders[i]]->port(), path, concurrency, 3.0);
      std::printf(
          "%-52s %12.0f %11.2fx\n",
          fmt::format("concurrency {}, forwarded (spin {})", concurrency, i == 0 ? 0 : 50).c_str(),
          through, through / straight);
    }
  }
  return 0;
}
