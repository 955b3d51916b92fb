// Benchmark: client-observed cold start, warm invoke latency (p50/p99) and warm throughput at
// concurrency 1/8/32 through the real daemon with a no-op keep-alive C runtime, each printed beside
// a bare loopback HTTP round trip and a bare fork+exec+wait measured in the same run. With --tls
// (or --tls-only, without the rest), also warm invoke over HTTPS with keep-alive against plain
// HTTP: --tls-pairs (3) pairs of new daemons alike but for --tls-cert, called in alternating
// blocks of 100. And HTTP triggers (a Function URL, an HTTP API route) beside the Invoke they make.
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
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

// The cost of resolving a qualifier on the invoke path: unqualified, NAME:1 and NAME:ALIAS (an
// 80/20 split between two versions), each warm, measured in interleaved blocks so drift in the
// machine's load falls on all three alike.
void alias_hot_path(Connection& api, int runs) {
  std::string body;
  const std::string base = "/2015-03-31/functions/noop";
  if (api.request("POST", base + "/versions", "{}", &body) != 201) die("publish: " + body);
  if (api.request("PUT", base + "/configuration", R"({"Description":"v2"})", &body) != 200)
    die("update: " + body);
  if (api.request("POST", base + "/versions", "{}", &body) != 201) die("publish: " + body);
  const std::string alias =
      R"({"Name":"live","FunctionVersion":"1","RoutingConfig":{"AdditionalVersionWeights":{"2":0.2}}})";
  if (api.request("POST", base + "/aliases", alias, &body) != 201) die("alias: " + body);
  const std::vector<std::pair<std::string, std::string>> targets = {
      {"unqualified ($LATEST)", base + "/invocations"},
      {"version (noop:1)", base + ":1/invocations"},
      {"alias 80/20 (noop:live)", base + ":live/invocations"}};
  std::vector<std::vector<double>> samples(targets.size());
  for (const auto& [label, path] : targets)
    for (int i = 0; i < 100; ++i) api.request("POST", path, "{}");  // warm each pool
  constexpr int kBlock = 100;
  for (int done = 0; done < runs; done += kBlock) {
    for (size_t t = 0; t < targets.size(); ++t) {
      for (int i = 0; i < kBlock; ++i) {
        const auto t0 = Clock::now();
        if (api.request("POST", targets[t].second, "{}", &body) != 200)
          die("qualified invoke: " + body);
        samples[t].push_back(us(Clock::now() - t0));
      }
    }
  }
  const Stats unqualified = stats(samples[0]);
  std::printf("\n%-44s %10s %10s %12s\n", "qualified invoke (warm, interleaved)", "p50 µs",
              "p99 µs", "p50 - unqual");
  for (size_t t = 0; t < targets.size(); ++t) {
    const Stats s = stats(samples[t]);
    std::printf("%-44s %10.1f %10.1f %12.1f\n", targets[t].first.c_str(), s.p50, s.p99,
                s.p50 - unqualified.p50);
  }
}

// HTTP triggers against the Invoke call they make: a Function URL (GET, path prefix) and an HTTP
// API route (GET /items/{id}) to the same warm function, beside Invoke of the very event the URL
// builds (the C runtime echoes it), in interleaved blocks. The difference is the front end's
// cost: finding the target, building the payload-2.0 event and reading the answer as HTTP.
// A connection lands on one io thread and the warm environment's runtime on one (perhaps
// another: a hand-off between threads costs tens of µs on this VM), so each target gets one
// connection per io thread and its figure is that of its best connection.
void http_trigger_hot_path(testsupport::DaemonProcess& daemon, Connection& api, int runs) {
  std::string body;
  const std::string fn = "/2015-03-31/functions/noop";
  if (api.request("POST", "/2021-10-31/functions/noop/url", R"({"AuthType":"NONE"})", &body) != 201)
    die("function url: " + body);
  const std::string url = nlohmann::json::parse(body)["FunctionUrl"];
  const std::string url_path = url.substr(url.find("/lambda-url/")) + "items/42";
  const std::string routes =
      R"({"Routes":[{"RouteKey":"GET /items/{id}","FunctionArn":"arn:aws:lambda:us-east-1:000000000000:function:noop"}]})";
  if (api.request("PUT", "/runtimed/v1/http-apis/bench", routes, &body) != 200)
    die("http api: " + body);
  const std::string api_path =
      "/execute-api/" + nlohmann::json::parse(body)["ApiId"].get<std::string>() + "/items/42";
  constexpr int kConnections = 2;  // one per io thread of this 2-core machine
  std::vector<std::unique_ptr<Connection>> invoke_conns, http_conns;
  for (int i = 0; i < kConnections; ++i) {
    invoke_conns.push_back(std::make_unique<Connection>(daemon.port()));
    http_conns.push_back(std::make_unique<Connection>(daemon.http_port()));
  }
  // The URL's own event, echoed back: Invoke gets the same bytes to carry.
  if (http_conns[0]->request("GET", url_path, "", &body) != 200) die("url request: " + body);
  const std::string event = body;
  struct Target {
    std::string label;
    Connection* connection;
    std::string method, path, payload;
  };
  std::vector<Target> targets;
  for (int c = 0; c < kConnections; ++c) {
    const std::string n = fmt::format(" (connection {})", c + 1);
    targets.push_back({"Invoke, its event as payload" + n, invoke_conns[c].get(), "POST",
                       fn + "/invocations", event});
    targets.push_back({"Function URL GET" + n, http_conns[c].get(), "GET", url_path, ""});
    targets.push_back(
        {"HTTP API route GET /items/{id}" + n, http_conns[c].get(), "GET", api_path, ""});
  }
  std::vector<std::vector<double>> samples(targets.size());
  for (const auto& t : targets)
    for (int i = 0; i < 100; ++i) t.connection->request(t.method, t.path, t.payload);
  constexpr int kBlock = 100;
  for (int done = 0; done < runs; done += kBlock) {
    for (size_t t = 0; t < targets.size(); ++t) {
      for (int i = 0; i < kBlock; ++i) {
        const auto t0 = Clock::now();
        if (targets[t].connection->request(targets[t].method, targets[t].path, targets[t].payload,
                                           &body) != 200)
          die(targets[t].label + ": " + body);
        samples[t].push_back(us(Clock::now() - t0));
      }
    }
  }
  std::printf("\n%-52s %10s %10s\n", "HTTP triggers (warm, interleaved)", "p50 µs", "p99 µs");
  for (size_t t = 0; t < targets.size(); ++t) {
    const Stats s = stats(samples[t]);
    std::printf("%-52s %10.1f %10.1f\n", targets[t].label.c_str(), s.p50, s.p99);
  }
  auto best = [&](size_t kind) {
    double p50 = 1e18;
    for (int c = 0; c < kConnections; ++c) p50 = std::min(p50, stats(samples[c * 3 + kind]).p50);
    return p50;
  };
  std::printf("%-52s %10.1f\n", "Function URL added, best connections (p50)", best(1) - best(0));
  std::printf("%-52s %10.1f\n", "HTTP API route added, best connections (p50)", best(2) - best(0));
}

// A bare loopback transfer of `bytes` between two threads of this process: the floor for moving a
// streamed response through the daemon. MB/s.
double bare_transfer_mbps(size_t bytes) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) die("socketpair");
  const auto t0 = Clock::now();
  std::thread writer([&] {
    const std::string block(64 * 1024, 'x');
    for (size_t sent = 0; sent < bytes;) {
      const ssize_t n = ::write(fds[0], block.data(), std::min(block.size(), bytes - sent));
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
  });
  char buf[65536];
  for (size_t got = 0; got < bytes;) {
    const ssize_t n = ::read(fds[1], buf, sizeof buf);
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  const double seconds = ms_since(t0) / 1000;
  writer.join();
  ::close(fds[0]);
  ::close(fds[1]);
  return static_cast<double>(bytes) / 1e6 / seconds;
}

// Response streaming (the C runtime's "stream" action): a warm 64 KiB answer whole (Invoke),
// streamed (InvokeWithResponseStream, a RESPONSE_STREAM Function URL), in interleaved blocks;
// the first chunk of a stream whose second comes 50 ms later; 16 MiB streamed through the URL
// beside a bare in-process transfer of the same bytes.
void response_streaming(testsupport::DaemonProcess& daemon, Connection& api, int runs) {
  std::string body;
  const nlohmann::json create = {
      {"FunctionName", "streamer"},
      {"Runtime", "provided.al2023"},
      {"Role", "arn:aws:iam::000000000000:role/bench"},
      {"Timeout", 60},
      {"Code", {{"ZipFile", common::base64_encode(testsupport::function_zip())}}}};
  if (api.request("POST", "/2015-03-31/functions", create.dump(), &body) != 201)
    die("create streamer: " + body);
  if (api.request("POST", "/2021-10-31/functions/streamer/url",
                  R"({"AuthType":"NONE","InvokeMode":"RESPONSE_STREAM"})", &body) != 201)
    die("streaming url: " + body);
  const std::string url = nlohmann::json::parse(body)["FunctionUrl"];
  const std::string url_path = url.substr(url.find("/lambda-url/"));
  Connection http(daemon.http_port());
  struct Target {
    const char* label;
    Connection* conn;
    std::string method, path, payload;
  };
  const std::vector<Target> targets = {
      {"Invoke, 64 KiB answered whole", &api, "POST", "/2015-03-31/functions/streamer/invocations",
       R"({"action":"big","bytes":65536})"},
      {"InvokeWithResponseStream, 64 KiB streamed", &api, "POST",
       "/2021-11-15/functions/streamer/response-streaming-invocations",
       R"({"action":"stream","chunks":1,"bytes":65536})"},
      {"Function URL (RESPONSE_STREAM), 64 KiB", &http, "GET",
       url_path + "?action=stream&chunks=1&bytes=65536", ""}};
  std::vector<std::vector<double>> samples(targets.size());
  for (const auto& t : targets)
    for (int i = 0; i < 50; ++i) t.conn->request(t.method, t.path, t.payload);  // warm
  constexpr int kBlock = 100;
  for (int done = 0; done < runs; done += kBlock) {
    for (size_t t = 0; t < targets.size(); ++t) {
      for (int i = 0; i < kBlock; ++i) {
        const auto t0 = Clock::now();
        if (targets[t].conn->request(targets[t].method, targets[t].path, targets[t].payload,
                                     &body) != 200)
          die(std::string(targets[t].label) + ": " + body.substr(0, 200));
        samples[t].push_back(us(Clock::now() - t0));
      }
    }
  }
  std::printf("\n%-52s %10s %10s\n", "response streaming, warm (interleaved)", "p50 µs", "p99 µs");
  for (size_t t = 0; t < targets.size(); ++t) {
    const Stats st = stats(samples[t]);
    std::printf("%-52s %10.1f %10.1f\n", targets[t].label, st.p50, st.p99);
  }
  // The first chunk, while the function still runs (its second chunk comes 50 ms later).
  std::vector<double> first;
  for (int i = 0; i < 40; ++i) {
    Clock::time_point first_chunk{};
    const auto t0 = Clock::now();
    if (http.request("GET", url_path + "?action=stream&chunks=2&ms=50", "", &body, "",
                     &first_chunk) != 200)
      die("first chunk: " + body);
    first.push_back(us(first_chunk - t0));
  }
  const Stats f = stats(first);
  std::printf("%-52s %10.1f %10.1f\n", "first chunk of a 50 ms stream (Function URL)", f.p50,
              f.p99);
  // Throughput of a large stream against the bare transfer floor.
  constexpr size_t kMiB = 1024 * 1024, kStreamBytes = 16 * kMiB;
  double best = 0, bare = 0;
  for (int i = 0; i < 5; ++i) {
    const auto t0 = Clock::now();
    if (http.request("GET", url_path + "?action=stream&chunks=16&bytes=1048576", "", &body) !=
            200 ||
        body.size() != kStreamBytes)
      die("16 MiB stream: " + std::to_string(body.size()) + " bytes");
    best = std::max(best, static_cast<double>(kStreamBytes) / 1e6 / (ms_since(t0) / 1000));
    bare = std::max(bare, bare_transfer_mbps(kStreamBytes));
  }
  std::printf("%-52s %10.0f MB/s (bare in-process transfer %.0f MB/s, %.2fx)\n",
              "16 MiB streamed through a Function URL, best of 5", best, bare, best / bare);
}

// Cold starts of the same function with and without two layers (an overlay at /opt), forced by
// draining its idle environment, interleaved so both see the same machine.
void layered_cold_start(testsupport::DaemonProcess& daemon, Connection& api, int runs) {
  std::string body;
  for (const char* layer : {"first", "second"}) {
    const std::string zip = testsupport::zip_of(
        {{std::string("lib/") + layer + ".txt", layer}, {"python/shared.py", layer}});
    const nlohmann::json publish = {{"Content", {{"ZipFile", common::base64_encode(zip)}}}};
    if (api.request("POST", std::string("/2018-10-31/layers/") + layer + "/versions",
                    publish.dump(), &body) != 201)
      die("publish layer: " + body);
  }
  const nlohmann::json layers = {{"Layers",
                                  {"arn:aws:lambda:us-east-1:000000000000:layer:first:1",
                                   "arn:aws:lambda:us-east-1:000000000000:layer:second:1"}}};
  if (daemon.create_function("plain") != 201) die("create plain");
  if (daemon.create_function("layered", layers) != 201) die("create layered");
  std::vector<double> plain, layered;
  for (int i = 0; i < runs; ++i) {
    for (auto [name, samples] : {std::pair{"plain", &plain}, std::pair{"layered", &layered}}) {
      if (api.request("POST", std::string("/runtimed/v1/functions/") + name + "/drain", "",
                      &body) != 200)
        die("drain: " + body);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      const auto t0 = Clock::now();
      if (api.request("POST", std::string("/2015-03-31/functions/") + name + "/invocations", "{}",
                      &body) != 200)
        die("cold invoke: " + body);
      samples->push_back(us(Clock::now() - t0));
    }
  }
  const Stats p = stats(plain), l = stats(layered);
  std::printf("\n%-44s %10s %10s %12s\n", "cold start, drained (interleaved)", "p50 µs", "p99 µs",
              "p50 - plain");
  std::printf("%-44s %10.1f %10.1f %12s\n", "no layers", p.p50, p.p99, "");
  std::printf("%-44s %10.1f %10.1f %12.1f\n", "two layers (overlay at /opt)", l.p50, l.p99,
              l.p50 - p.p50);
}

// A daemon for the HTTPS comparison with `extra` options, its noop function created and its
// prepared pool full: a new daemon fills it in the background (forks, mounts) for some seconds,
// and measured during that, either side would be charged for it.
std::unique_ptr<testsupport::DaemonProcess> comparison_daemon(std::vector<std::string> extra,
                                                              const std::filesystem::path& ca) {
  std::vector<std::string> args = {"--freeze-after", "600000", "--prepared-pool", "8"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto daemon = std::make_unique<testsupport::DaemonProcess>(args);
  daemon->trust(ca);
  if (daemon->create_function("noop") != 201) die("create noop");
  for (int i = 0; i < 600; ++i) {
    auto health = daemon->client().Get("/runtimed/v1/health");
    if (health && health->status == 200 &&
        nlohmann::json::parse(health->body).value("prepared", 0) >= 8)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return daemon;
}

struct TlsPair {
  Stats plain, tls;
  std::string version;
};

// Warm invoke p50/p99 over plain HTTP and over HTTPS, both keep-alive, in alternating blocks,
// each against a new daemon started alike here (the one above has run the throughput rows).
TlsPair tls_pair(int runs, const std::string& path, const testsupport::TestPki& pki) {
  auto plain_daemon = comparison_daemon({}, pki.ca_cert);
  auto tls_daemon = comparison_daemon(
      {"--tls-cert", pki.server_cert.string(), "--tls-key", pki.server_key.string()}, pki.ca_cert);
  Connection plain(plain_daemon->port());
  testsupport::TlsConnection tls(tls_daemon->port(), pki.ca_cert);
  std::string body;
  for (int i = 0; i < 500; ++i) {
    plain.request("POST", path, "{}");
    tls.request("POST", path, "{}");
  }
  // Blocks of 100 each, alternating: both see the same drift of the machine, and each daemon's
  // io thread stays in its spin between calls as in the warm row above (request by request, each
  // daemon would sleep while the other works, and both would pay the wake-ups).
  std::vector<double> plain_us, tls_us;
  constexpr int kBlock = 100;
  for (int done = 0; done < runs; done += kBlock) {
    for (int i = 0; i < kBlock; ++i) {
      const auto t0 = Clock::now();
      if (plain.request("POST", path, "{}", &body) != 200) die("warm invoke: " + body);
      plain_us.push_back(us(Clock::now() - t0));
    }
    for (int i = 0; i < kBlock; ++i) {
      const auto t0 = Clock::now();
      if (tls.request("POST", path, "{}", &body) != 200) die("warm invoke over TLS: " + body);
      tls_us.push_back(us(Clock::now() - t0));
    }
  }
  return {stats(plain_us), stats(tls_us), tls.version()};
}

// `pairs` plain/HTTPS daemon pairs, one after the other: a daemon's latency also depends on where
// the scheduler puts its threads and its runtime, which differs from one daemon to the next as
// much as TLS costs, so one pair is not enough; the median pair's difference is the figure.
void tls_rows(int runs, int pairs, const std::string& path) {
  testsupport::TempDir pki_dir("rt-bench-pki");
  const auto pki = testsupport::make_test_pki(pki_dir.path());
  std::printf("\n%-44s %10s %10s %12s %10s\n", "warm invoke, keep-alive, p50 µs", "plain", "HTTPS",
              "ratio", "added");
  std::vector<double> added, ratios;
  std::string version;
  for (int i = 0; i < pairs; ++i) {
    const TlsPair r = tls_pair(runs, path, pki);
    version = r.version;
    added.push_back(r.tls.p50 - r.plain.p50);
    ratios.push_back(r.tls.p50 / r.plain.p50);
    std::printf("%-44s %10.1f %10.1f %11.2fx %10.1f   (p99 %.0f / %.0f)\n",
                fmt::format("daemon pair {}", i + 1).c_str(), r.plain.p50, r.tls.p50,
                r.tls.p50 / r.plain.p50, r.tls.p50 - r.plain.p50, r.plain.p99, r.tls.p99);
  }
  std::printf("%-44s %10s %10s %11.2fx %10.1f\n", ("median pair (" + version + " added)").c_str(),
              "", "", stats(ratios).p50, stats(added).p50);
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 2000;
  int cold_runs = 100;
  bool with_tls = false;
  bool tls_only = false;
  int tls_pairs = 3;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--tls") with_tls = true;
    if (std::string(argv[i]) == "--tls-only") with_tls = tls_only = true;
  }
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--runs") runs = std::atoi(argv[i + 1]);
    if (std::string(argv[i]) == "--cold-runs") cold_runs = std::atoi(argv[i + 1]);
    if (std::string(argv[i]) == "--tls-pairs") tls_pairs = std::atoi(argv[i + 1]);
  }
  const std::string invoke_path = "/2015-03-31/functions/noop/invocations";
  if (tls_only) {
    tls_rows(runs, tls_pairs, invoke_path);
    return 0;
  }
  testsupport::DaemonProcess daemon(
      {"--freeze-after", "600000", "--prepared-pool", "8", "--http-listen", "127.0.0.1:0"});
  Connection api(daemon.port());
  std::string body;
  // The function: the static keep-alive C runtime as bootstrap.
  if (daemon.create_function("noop") != 201) die("create noop");

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

  alias_hot_path(api, runs);
  http_trigger_hot_path(daemon, api, runs);
  response_streaming(daemon, api, runs);
  layered_cold_start(daemon, api, cold_runs);
  if (with_tls) tls_rows(runs, tls_pairs, invoke_path);
  return 0;
}
