// Benchmark: the managed node and python runtimes beside the static C runtime, through the real
// daemon, in one run: warm throughput and latency at concurrency 8 and 32 with an echo handler
// (`async (e) => e`, `return event`), client-observed cold start (first invoke of a new function,
// 128 MB), and the bare interpreters (`node -e 0`, `python3 -c pass`, the static probe;
// fork+exec+wait, no sandbox). `--compare-runtimes DIR` also runs node and python from another
// runtimes directory (e.g. an older checkout's `runtimes/`) on a second daemon, interleaved, so a
// change to a bootstrap is measured against its predecessor in the same conditions.
#include <fmt/format.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_support.hpp"
#include "common/base64.hpp"
#include "tests/integration/daemon_process.hpp"

using namespace bench;

namespace {

struct Options {
  int cold_rounds = 8;
  int bare_rounds = 10;
  double seconds = 3.0;
  int repeat = 1;
  std::string compare_runtimes;
  std::string only;                      // measure only the runtimes whose label contains this
  std::vector<std::string> daemon_args;  // added to every daemon's command line
};

struct Target {
  std::string label;  // as printed
  testsupport::DaemonProcess* daemon;
  std::string runtime, handler;
  std::map<std::string, std::string> files;  // empty: the C test runtime
  std::vector<std::string> bare;             // the bare interpreter
};

// A fresh function of `target` named `name`; dies when CreateFunction fails.
void create(const Target& target, const std::string& name) {
  int status = 0;
  if (target.files.empty()) {
    status = target.daemon->create_function(name);
  } else {
    status = target.daemon->create_function(
        name, {{"Runtime", target.runtime}, {"Handler", target.handler}},
        testsupport::zip_of(target.files));
  }
  if (status != 201) die(fmt::format("create {}: {}", name, status));
}

void remove(const Target& target, const std::string& name) {
  target.daemon->client().Delete("/2015-03-31/functions/" + name);
}

std::string invoke_path(const std::string& name) {
  return "/2015-03-31/functions/" + name + "/invocations";
}

// Client-observed cold starts: each the first invoke of a new function, arrivals spaced out.
Stats cold_starts(const Target& target, int rounds, int* serial) {
  std::vector<double> ms;
  Connection api(target.daemon->port());
  for (int i = 0; i < rounds; ++i) {
    const std::string name = fmt::format("cold-{}", ++*serial);
    create(target, name);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::string body;
    const auto t = Clock::now();
    if (api.request("POST", invoke_path(name), R"({"cold":true})", &body) != 200)
      die("cold invoke " + target.label + ": " + body);
    ms.push_back(ms_since(t));
    remove(target, name);
  }
  return stats(ms);
}

struct Warm {
  double rate = 0;
  Stats latency_ms;
  uint64_t failed = 0;
};

// `concurrency` closed-loop keep-alive clients for `seconds`, measured once every client has had
// ten answers (so the environments the concurrency needs have started): invocations per second
// and their latency.
Warm warm(const Target& target, const std::string& name, int concurrency, double seconds) {
  const std::string path = invoke_path(name);
  const std::string payload = R"({"key":"value","n":1})";
  std::atomic<int> phase{0};  // 0 warm-up, 1 measuring, 2 stop
  std::atomic<int> warmed{0};
  std::vector<std::vector<double>> latencies(concurrency);
  std::atomic<uint64_t> failed{0};
  std::vector<std::thread> clients;
  clients.reserve(static_cast<size_t>(concurrency));
  for (int i = 0; i < concurrency; ++i) {
    clients.emplace_back([&, i] {
      Connection c(target.daemon->port());
      std::string body;
      for (int answers = 0; phase != 2;) {
        const bool counted = phase == 1;
        const auto t = Clock::now();
        const int status = c.request("POST", path, payload, &body);
        if (status != 200 || body != payload) {
          if (failed++ == 0)
            std::fprintf(stderr, "%s: %d %s\n", name.c_str(), status, body.c_str());
          continue;
        }
        if (++answers == 10) ++warmed;
        if (counted && phase == 1) latencies[i].push_back(ms_since(t));
      }
    });
  }
  const auto give_up = Clock::now() + std::chrono::seconds(30);
  while (warmed < concurrency && Clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  phase = 1;
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  phase = 2;
  for (auto& t : clients) t.join();
  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  return {static_cast<double>(all.size()) / seconds, stats(all), failed.load()};
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--cold-rounds")
      o.cold_rounds = std::max(1, std::atoi(value.c_str()));
    else if (flag == "--seconds")
      o.seconds = std::max(0.5, std::atof(value.c_str()));
    else if (flag == "--repeat")
      o.repeat = std::max(1, std::atoi(value.c_str()));
    else if (flag == "--compare-runtimes")
      o.compare_runtimes = value;
    else if (flag == "--daemon-arg")
      o.daemon_args.push_back(value);
    else if (flag == "--only")
      o.only = value;
    else
      die("usage: bench_runtime_throughput [--cold-rounds N] [--seconds S] [--repeat N] "
          "[--compare-runtimes DIR] [--only LABEL] [--daemon-arg ARG]...");
  }
  // Environments stay thawed through the run: freezing is not what is measured. Stems as the
  // daemon's default has them (cold starts take one when ready).
  std::vector<std::string> flags = {"--freeze-after", "600000", "--prepared-pool", "8",
                                    "--stem-cells",   "1"};
  flags.insert(flags.end(), o.daemon_args.begin(), o.daemon_args.end());
  testsupport::DaemonProcess daemon(flags);
  std::unique_ptr<testsupport::DaemonProcess> other;
  if (!o.compare_runtimes.empty()) {
    auto with_dir = flags;
    with_dir.insert(with_dir.end(), {"--runtimes-dir", o.compare_runtimes});
    other = std::make_unique<testsupport::DaemonProcess>(with_dir);
  }
  const std::map<std::string, std::string> node_files = {
      {"index.js", "exports.handler = async (e) => e;\n"}};
  const std::map<std::string, std::string> python_files = {
      {"app.py", "def handler(event, context):\n    return event\n"}};
  const std::vector<std::string> node_bare = {"/usr/bin/node", "-e", "0"};
  const std::vector<std::string> python_bare = {"/usr/bin/python3", "-c", "pass"};
  std::vector<Target> targets = {
      {"c (provided)",
       &daemon,
       "",
       "",
       {},
       {testsupport::bin_path("rt-probe").string(), "exit", "0"}},
      {"nodejs20.x", &daemon, "nodejs20.x", "index.handler", node_files, node_bare},
      {"python3.12", &daemon, "python3.12", "app.handler", python_files, python_bare},
  };
  if (other) {
    targets.push_back({"nodejs20.x (compared)", other.get(), "nodejs20.x", "index.handler",
                       node_files, node_bare});
    targets.push_back({"python3.12 (compared)", other.get(), "python3.12", "app.handler",
                       python_files, python_bare});
  }
  std::erase_if(targets,
                [&](const Target& t) { return t.label.find(o.only) == std::string::npos; });
  fmt::print("runtime_throughput: {} s per warm figure, {} cold starts, {} repeat(s){}\n",
             o.seconds, o.cold_rounds, o.repeat,
             other ? " (compared: " + o.compare_runtimes + ")" : "");
  // Each figure is taken for every runtime in turn, so a change in the machine's load shows in
  // all of them rather than in one.
  int serial = 0;
  for (int round = 0; round < o.repeat; ++round) {
    std::vector<std::string> names;
    for (size_t t = 0; t < targets.size(); ++t) {
      names.push_back(fmt::format("warm-{}-{}", t, round));
      create(targets[t], names.back());
    }
    std::vector<Warm> c8, c32;
    for (size_t t = 0; t < targets.size(); ++t)
      c8.push_back(warm(targets[t], names[t], 8, o.seconds));
    for (size_t t = 0; t < targets.size(); ++t)
      c32.push_back(warm(targets[t], names[t], 32, o.seconds));
    for (size_t t = 0; t < targets.size(); ++t) remove(targets[t], names[t]);
    std::vector<Stats> cold, bare;
    for (const auto& target : targets) cold.push_back(cold_starts(target, o.cold_rounds, &serial));
    for (const auto& target : targets) {
      std::vector<double> ms;
      ms.reserve(static_cast<size_t>(o.bare_rounds));
      for (int i = 0; i < o.bare_rounds; ++i) ms.push_back(bare_run_ms(target.bare));
      bare.push_back(stats(ms));
    }
    fmt::print("\n{:<24} {:>8} {:>15} {:>8} {:>15} {:>15} {:>15}\n", "runtime", "c=8 /s",
               "c=8 p50/p99 ms", "c=32 /s", "c=32 p50/p99 ms", "cold p50/p99 ms",
               "bare p50/p99 ms");
    for (size_t t = 0; t < targets.size(); ++t) {
      fmt::print(
          "{:<24} {:>8.0f} {:>6.2f}/{:<8.2f} {:>8.0f} {:>6.2f}/{:<8.2f} {:>6.1f}/{:<8.1f} "
          "{:>6.1f}/{:<8.1f}\n",
          targets[t].label, c8[t].rate, c8[t].latency_ms.p50, c8[t].latency_ms.p99, c32[t].rate,
          c32[t].latency_ms.p50, c32[t].latency_ms.p99, cold[t].p50, cold[t].p99, bare[t].p50,
          bare[t].p99);
      if (c8[t].failed + c32[t].failed > 0)
        fmt::print("  ({} failed or wrong answers)\n", c8[t].failed + c32[t].failed);
    }
    std::fflush(stdout);
  }
  return 0;
}
