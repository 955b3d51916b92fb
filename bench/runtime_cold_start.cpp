// Benchmark: the managed python and node runtimes through the real daemon: client-observed cold
// start (first invoke after CreateFunction), Init Duration from the REPORT line, warm p50/p99,
// each beside the bare interpreter (`python3 -c pass`, `node -e 0`, fork+exec+wait) in the same
// run; on a daemon with stems (prestarted runtimes, the default) and on one without.
#include <fmt/format.h>

#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_support.hpp"
#include "common/base64.hpp"
#include "tests/integration/daemon_process.hpp"

using namespace bench;

namespace {

int g_cold_rounds = 10;
int g_warm_rounds = 300;
int g_bare_rounds = 10;

// The bare interpreter: fork+exec+wait, no sandbox, no daemon.
std::vector<double> bare_runs(const std::vector<std::string>& args) {
  std::vector<double> out;
  out.reserve(static_cast<size_t>(g_bare_rounds));
  for (int i = 0; i < g_bare_rounds; ++i) out.push_back(bare_run_ms(args));
  return out;
}

struct Language {
  std::string name, runtime, handler;
  std::map<std::string, std::string> files;
  std::vector<std::string> bare;
};

struct Figures {
  Stats cold, init, warm, bare;
};

double init_duration(const std::string& tail) {
  const auto p = tail.find("Init Duration: ");
  if (p == std::string::npos) die("no Init Duration in: " + tail);
  return std::stod(tail.substr(p + 15));
}

Figures measure(const testsupport::DaemonProcess& daemon, const Language& lang) {
  Figures f;
  auto client = daemon.client();
  client.set_tcp_nodelay(true);
  const std::string zip = common::base64_encode(testsupport::zip_of(lang.files));
  std::vector<double> cold, init, warm;
  std::string name;
  for (int i = 0; i < g_cold_rounds; ++i) {
    if (!name.empty()) client.Delete("/2015-03-31/functions/" + name);
    name = fmt::format("{}-{}", lang.name, i);
    nlohmann::json body = {{"FunctionName", name},
                           {"Runtime", lang.runtime},
                           {"Handler", lang.handler},
                           {"Role", "arn:aws:iam::000000000000:role/bench"},
                           {"Code", {{"ZipFile", zip}}}};
    auto c = client.Post("/2015-03-31/functions", body.dump(), "application/json");
    if (!c || c->status != 201) die("create " + name + ": " + (c ? c->body : "no answer"));
    // Spaced arrivals, as cold starts come in practice (see PERFORMANCE.md on RCU waits), and
    // time for the stem pool to start the next stem.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const auto t = Clock::now();
    auto r = client.Post("/2015-03-31/functions/" + name + "/invocations",
                         {{"X-Amz-Log-Type", "Tail"}}, "{}", "application/json");
    cold.push_back(ms_since(t));
    if (!r || r->status != 200 || r->has_header("X-Amz-Function-Error"))
      die("cold invoke " + name + ": " + (r ? r->body : "no answer"));
    init.push_back(
        init_duration(common::base64_decode(r->get_header_value("X-Amz-Log-Result")).value_or("")));
  }
  for (int i = 0; i < g_warm_rounds + 20; ++i) {
    const auto t = Clock::now();
    auto r =
        client.Post("/2015-03-31/functions/" + name + "/invocations", "{}", "application/json");
    if (!r || r->status != 200) die("warm invoke failed");
    if (i >= 20) warm.push_back(ms_since(t));  // the first few warm the connection and caches
  }
  client.Delete("/2015-03-31/functions/" + name);
  f.cold = stats(cold);
  f.init = stats(init);
  f.warm = stats(warm);
  f.bare = stats(bare_runs(lang.bare));
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) g_cold_rounds = std::max(1, std::atoi(argv[1]));
  if (argc > 2) g_warm_rounds = std::max(1, std::atoi(argv[2]));
  const std::vector<Language> languages = {
      {"python",
       "python3.12",
       "app.handler",
       {{"app.py", "def handler(event, context):\n    return {}\n"}},
       {"/usr/bin/python3", "-c", "pass"}},
      {"node",
       "nodejs20.x",
       "index.handler",
       {{"index.js", "exports.handler = async () => ({});\n"}},
       {"/usr/bin/node", "-e", "0"}},
  };
  // The same daemon with stems (prestarted runtimes, the default) and without.
  testsupport::DaemonProcess stems({"--stem-cells", "1"});
  testsupport::DaemonProcess plain({"--stem-cells", "0"});
  fmt::print("runtime_cold_start: {} cold starts, {} warm invocations per runtime (ms)\n",
             g_cold_rounds, g_warm_rounds);
  fmt::print("{:<16} {:>14} {:>14} {:>14} {:>14} {:>12} {:>12}\n", "runtime", "cold p50/p99",
             "init p50/p99", "warm p50/p99", "bare p50/p99", "cold/bare", "init/bare");
  for (const auto& lang : languages) {
    for (const auto* daemon : {&plain, &stems}) {
      const Figures f = measure(*daemon, lang);
      fmt::print(
          "{:<16} {:>6.1f}/{:<7.1f} {:>6.1f}/{:<7.1f} {:>6.2f}/{:<7.2f} {:>6.1f}/{:<7.1f} "
          "{:>11.2f}x {:>11.2f}x\n",
          lang.name + (daemon == &stems ? ", stems" : ""), f.cold.p50, f.cold.p99, f.init.p50,
          f.init.p99, f.warm.p50, f.warm.p99, f.bare.p50, f.bare.p99, f.cold.p50 / f.bare.p50,
          f.init.p50 / f.bare.p50);
    }
  }
  return 0;
}
