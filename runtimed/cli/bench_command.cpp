// `runtimed bench` and `runtimed drain` (see bench_command.hpp).
#include "runtimed/cli/bench_command.hpp"

#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>

#include "runtimed/bench/bench_check.hpp"
#include "runtimed/bench/bench_html.hpp"
#include "runtimed/bench/bench_lists.hpp"
#include "runtimed/bench/bench_output.hpp"
#include "runtimed/bench/bench_runner.hpp"
#include "runtimed/cli/cli_http.hpp"
#include "runtimed/cli/cli_requests.hpp"

namespace runtimed {

struct BenchCommandState {
  CLI::App* bench = nullptr;
  CLI::App* drain = nullptr;
  bench::BenchOptions options;
  std::string mode = "warm";
  std::string payload = "{}";
  double duration_s = 10;
  std::string json_file, csv_file, html_file, check;
  bool no_probe = false;
  std::string gaps = "0s,1s,5s,30s,2m";
  std::string sizes = "128,256,512,1024";
  std::string spread = "random";
  std::string drain_endpoint{kDefaultEndpoint};
  std::string drain_function;
};

namespace {

// "--payload @file" reads the file.
std::optional<std::string> payload_text(const std::string& payload) {
  if (!payload.starts_with('@')) return payload;
  std::ifstream in(payload.substr(1), std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  return static_cast<bool>(out);
}

int run_drain(const BenchCommandState& s) {
  DaemonClient client(s.drain_endpoint, kDefaultReadTimeout);
  HttpCall call;
  call.method = "POST";
  call.target = "/runtimed/v1/functions/" + s.drain_function + "/drain";
  auto response = client.send(call);
  if (!response) {
    std::fprintf(stderr, "runtimed drain: %s\n", response.error().c_str());
    return 2;
  }
  if (response->status >= 400) {
    std::fprintf(stderr, "runtimed drain: %s\n",
                 api_error_text(response->status, response->get_header_value("x-amzn-ErrorType"),
                                response->body)
                     .c_str());
    return 2;
  }
  std::printf("%s\n", response->body.c_str());
  return 0;
}

int run_bench(BenchCommandState& s) {
  auto mode = bench::parse_mode(s.mode);
  if (!mode) {
    std::fprintf(stderr, "runtimed bench: %s\n", mode.error().c_str());
    return 64;
  }
  auto payload = payload_text(s.payload);
  if (!payload) {
    std::fprintf(stderr, "runtimed bench: cannot read %s\n", s.payload.c_str() + 1);
    return 64;
  }
  std::vector<bench::Threshold> thresholds;
  if (!s.check.empty()) {
    auto parsed = bench::parse_thresholds(s.check);
    if (!parsed) {
      std::fprintf(stderr, "runtimed bench: %s\n", parsed.error().c_str());
      return 64;
    }
    thresholds = std::move(*parsed);
  }
  if (s.options.function.empty() && *mode != bench::Mode::Overhead) {
    std::fprintf(stderr, "runtimed bench: --function is required\n");
    return 64;
  }
  if (*mode == bench::Mode::Idle) {
    auto gaps = bench::parse_gaps(s.gaps);
    if (!gaps) {
      std::fprintf(stderr, "runtimed bench: %s\n", gaps.error().c_str());
      return 64;
    }
    s.options.gaps_s = std::move(*gaps);
  }
  if (*mode == bench::Mode::Memory) {
    auto sizes = bench::parse_sizes(s.sizes);
    if (!sizes) {
      std::fprintf(stderr, "runtimed bench: %s\n", sizes.error().c_str());
      return 64;
    }
    s.options.sizes_mb = std::move(*sizes);
  }
  if (*mode == bench::Mode::Replay) {
    if (s.options.trace_file.empty()) {
      std::fprintf(stderr, "runtimed bench: replay needs --trace FILE\n");
      return 64;
    }
    if (s.spread != "even" && s.spread != "random") {
      std::fprintf(stderr, "runtimed bench: --spread is even or random\n");
      return 64;
    }
    s.options.replay.spread = s.spread == "even" ? bench::Spread::Even : bench::Spread::Random;
  }
  s.options.mode = *mode;
  s.options.probe = !s.no_probe;
  s.options.payload = std::move(*payload);
  s.options.duration = std::chrono::milliseconds(static_cast<int64_t>(s.duration_s * 1000));
  const bool terminal = ::isatty(STDERR_FILENO) == 1;
  const auto started = std::chrono::steady_clock::now();
  auto run = bench::run_bench(
      s.options, [&](const bench::Progress& p, const std::vector<bench::Sample>& samples) {
        if (!terminal) return;
        const double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        std::fprintf(stderr, "\r\033[K%s",
                     bench::progress_line(p.done, p.total, elapsed, samples).c_str());
      });
  if (terminal) std::fprintf(stderr, "\r\033[K");
  if (!run) {
    std::fprintf(stderr, "runtimed bench: %s\n", run.error().c_str());
    return 2;
  }
  const bench::Summary summary = bench::summarize(run->samples, run->duration_s);
  const auto failed = bench::failed_thresholds(summary, thresholds);
  std::printf("%s", bench::run_report(*run, summary, thresholds, failed).c_str());
  const std::time_t now = std::time(nullptr);
  char when[64] = {};
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &utc);
  const bench::HtmlHeading heading{s.mode, s.options.function, s.options.endpoint, when};
  if (!s.json_file.empty() && !write_file(s.json_file, bench::run_json(*run, summary, heading))) {
    std::fprintf(stderr, "runtimed bench: cannot write %s\n", s.json_file.c_str());
    return 2;
  }
  if (!s.csv_file.empty() && !write_file(s.csv_file, bench::samples_csv(run->samples))) {
    std::fprintf(stderr, "runtimed bench: cannot write %s\n", s.csv_file.c_str());
    return 2;
  }
  if (!s.html_file.empty() &&
      !write_file(s.html_file, bench::html_report(*run, summary, heading))) {
    std::fprintf(stderr, "runtimed bench: cannot write %s\n", s.html_file.c_str());
    return 2;
  }
  return failed.empty() ? 0 : 1;
}

}  // namespace

void add_bench_commands(CLI::App& app, BenchCommands& commands) {
  commands.state = std::make_shared<BenchCommandState>();
  auto& s = *commands.state;
  s.bench =
      app.add_subcommand("bench",
                         "Load-test a function: cold starts, warm latency, bursts, open-model "
                         "rates, idle gaps, memory sweeps, trace replays");
  auto* b = s.bench;
  b->add_option("mode", s.mode, "warm | cold | burst | rate | idle | memory | replay | overhead")
      ->capture_default_str();
  b->add_option("--endpoint", s.options.endpoint, "URL of a Lambda Invoke API")
      ->capture_default_str();
  b->add_option("--function", s.options.function,
                "NAME or NAME:QUALIFIER (replay: a comma list); required but in overhead mode");
  b->add_option("--payload", s.payload, "Event JSON, or @FILE")->capture_default_str();
  b->add_option("--count", s.options.count,
                "Invocations (warm, cold; memory: cold and warm per size)")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000000));
  b->add_option("--concurrency", s.options.concurrency, "Calls in flight (warm, burst)")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  b->add_option("--rps", s.options.rps, "Arrivals per second (rate)")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 1e6));
  b->add_option("--duration", s.duration_s, "Seconds (rate)")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 86400.0));
  b->add_flag("--ramp", s.options.ramp,
              "Rate: arrivals rise linearly from 0 to --rps over --duration");
  b->add_option("--workers", s.options.rate_workers, "Calls in flight at most (rate, replay)")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  b->add_option("--gaps", s.gaps, "Idle gaps before each call (idle), e.g. 0s,500ms,5s,2m")
      ->capture_default_str();
  b->add_option("--samples", s.options.samples, "Calls after each gap (idle)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  b->add_option("--sizes", s.sizes, "MemorySize values in MB (memory); --count cold and warm each")
      ->capture_default_str();
  b->add_option("--trace", s.options.trace_file,
                "Azure Functions 2019 invocations_per_function_md CSV (replay)");
  b->add_option("--functions", s.options.trace_functions, "The K busiest trace functions (replay)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  b->add_option("--speedup", s.options.replay.speedup, "A trace minute lasts 60/X s (replay)")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 1e6));
  b->add_option("--spread", s.spread, "Calls within a trace minute: random | even (replay)")
      ->capture_default_str();
  b->add_option("--seed", s.options.replay.seed, "Seed of --spread random (replay)")
      ->capture_default_str();
  b->add_option("--first-minute", s.options.replay.first_minute,
                "Trace minute to start at, from 0 (replay)")
      ->capture_default_str();
  b->add_option("--minutes", s.options.replay.minutes, "Trace minutes to replay, 0 = all (replay)")
      ->capture_default_str();
  b->add_flag("--baseline", s.options.baseline,
              "First measure the client's own cost against a bare loopback server");
  b->add_flag("--no-probe", s.no_probe,
              "No uncounted first call (which refuses an unknown function and warms it): the "
              "first counted call is the endpoint's first, e.g. another host's cold start");
  b->add_option("--html", s.html_file, "Write a self-contained HTML report with SVG charts");
  b->add_option("--json", s.json_file, "Write every sample and the summary as JSON");
  b->add_option("--csv", s.csv_file, "Write every sample as CSV");
  b->add_option("--check", s.check,
                "Thresholds, e.g. 'cold.p99<50ms,errors==0,cold_ratio<0.05': exit 1 if one fails");

  s.drain = app.add_subcommand(
      "drain", "Discard a function's idle environments: its next invocation starts cold");
  s.drain->add_option("--endpoint", s.drain_endpoint, "URL of the runtimed daemon")
      ->capture_default_str();
  add_ca_bundle_option(s.drain);
  s.drain->add_option("name", s.drain_function, "Function name")->required();
}

std::optional<int> run_bench_command(const BenchCommands& commands) {
  if (!commands.state) return std::nullopt;
  auto& s = *commands.state;
  if (s.bench && s.bench->parsed()) return run_bench(s);
  if (s.drain && s.drain->parsed()) return run_drain(s);
  return std::nullopt;
}

}  // namespace runtimed
