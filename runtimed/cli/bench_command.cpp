// `runtimed bench` and `runtimed drain` (see bench_command.hpp).
#include "runtimed/cli/bench_command.hpp"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "runtimed/bench/bench_check.hpp"
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
  std::string json_file, csv_file, check;
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
  s.options.mode = *mode;
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
  std::printf("%s", bench::summary_table(summary, thresholds, failed).c_str());
  if (!s.json_file.empty() &&
      !write_file(s.json_file, bench::samples_json(run->samples, summary))) {
    std::fprintf(stderr, "runtimed bench: cannot write %s\n", s.json_file.c_str());
    return 2;
  }
  if (!s.csv_file.empty() && !write_file(s.csv_file, bench::samples_csv(run->samples))) {
    std::fprintf(stderr, "runtimed bench: cannot write %s\n", s.csv_file.c_str());
    return 2;
  }
  return failed.empty() ? 0 : 1;
}

}  // namespace

void add_bench_commands(CLI::App& app, BenchCommands& commands) {
  commands.state = std::make_shared<BenchCommandState>();
  auto& s = *commands.state;
  s.bench = app.add_subcommand(
      "bench", "Load-test a function: cold starts, warm latency, bursts, open-model rates");
  auto* b = s.bench;
  b->add_option("mode", s.mode, "warm | cold | burst | rate")->capture_default_str();
  b->add_option("--endpoint", s.options.endpoint, "URL of a Lambda Invoke API")
      ->capture_default_str();
  b->add_option("--function", s.options.function, "NAME or NAME:QUALIFIER")->required();
  b->add_option("--payload", s.payload, "Event JSON, or @FILE")->capture_default_str();
  b->add_option("--count", s.options.count, "Invocations (warm, cold)")
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
