// run_bench (see bench_runner.hpp).
#include "runtimed/bench/bench_runner.hpp"

#include <httplib.h>

#include <atomic>
#include <cmath>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/base64.hpp"

namespace runtimed::bench {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

struct Target {
  std::string name;
  std::string invoke_path;
  std::string drain_path;
};

Target target_of(const std::string& function) {
  Target t;
  const auto colon = function.find(':');
  t.name = function.substr(0, colon);
  t.invoke_path = "/2015-03-31/functions/" + t.name + "/invocations";
  if (colon != std::string::npos) t.invoke_path += "?Qualifier=" + function.substr(colon + 1);
  t.drain_path = "/runtimed/v1/functions/" + t.name + "/drain";
  return t;
}

std::unique_ptr<httplib::Client> client_for(const std::string& endpoint) {
  auto client = std::make_unique<httplib::Client>(endpoint);
  client->set_keep_alive(true);
  client->set_tcp_nodelay(true);  // headers and body go in two writes: no 40 ms Nagle stall
  client->set_connection_timeout(std::chrono::seconds(10));
  client->set_read_timeout(std::chrono::seconds(910));
  return client;
}

// One invocation with its log tail; the sample's start and latency are the caller's.
Sample invoke_once(httplib::Client& client, const Target& target, const std::string& payload) {
  Sample sample;
  httplib::Headers headers{{"X-Amz-Log-Type", "Tail"}, {kPhasesRequestHeader, "1"}};
  auto response = client.Post(target.invoke_path, headers, payload, "application/json");
  if (!response) {
    sample.error_type = "transport: " + httplib::to_string(response.error());
    return sample;
  }
  sample.status = response->status;
  if (response->status == 429) {
    auto body = nlohmann::json::parse(response->body, nullptr, false);
    if (body.is_object() && body.contains("Reason") && body["Reason"].is_string()) {
      sample.throttle_reason = body["Reason"].get<std::string>();
    }
    return sample;
  }
  if (response->status != 200) {
    sample.error_type = response->get_header_value("x-amzn-ErrorType");
    if (sample.error_type.empty()) sample.error_type = "HTTP " + std::to_string(response->status);
    return sample;
  }
  if (response->has_header("X-Amz-Function-Error")) {
    sample.error_type = "Function." + response->get_header_value("X-Amz-Function-Error");
  }
  if (auto tail = common::base64_decode(response->get_header_value("X-Amz-Log-Result"))) {
    sample.report = parse_report_line(*tail);
    sample.cold = sample.report && sample.report->init_duration_ms.has_value();
  }
  if (response->has_header(kPhasesResponseHeader))
    sample.phases = parse_cold_phases(response->get_header_value(kPhasesResponseHeader));
  return sample;
}

std::expected<void, std::string> drain(httplib::Client& client, const Target& target) {
  auto response = client.Post(target.drain_path);
  if (!response) return std::unexpected("drain: " + httplib::to_string(response.error()));
  if (response->status != 200 && response->status != 204) {
    return std::unexpected("drain " + target.name + ": HTTP " + std::to_string(response->status) +
                           " " + response->body);
  }
  return {};
}

// Runs `body(index, client)` on `workers` threads until `next` reaches `total`.
void on_workers(size_t workers, const std::string& endpoint, size_t total,
                const std::function<void(size_t, httplib::Client&)>& body) {
  std::atomic<size_t> next{0};
  std::vector<std::thread> threads;
  for (size_t w = 0; w < workers; ++w) {
    threads.emplace_back([&] {
      auto client = client_for(endpoint);
      for (size_t i = next++; i < total; i = next++) body(i, *client);
    });
  }
  for (auto& t : threads) t.join();
}

}  // namespace

size_t rate_total(double rps, double duration_s, bool ramp) {
  return static_cast<size_t>(rps * duration_s / (ramp ? 2 : 1));
}

double rate_due_s(size_t i, double rps, double duration_s, bool ramp) {
  const auto n = static_cast<double>(i);
  return ramp ? std::sqrt(2 * duration_s * n / rps) : n / rps;
}

std::expected<Mode, std::string> parse_mode(const std::string& name) {
  if (name == "warm") return Mode::Warm;
  if (name == "cold") return Mode::Cold;
  if (name == "burst") return Mode::Burst;
  if (name == "rate") return Mode::Rate;
  return std::unexpected("unknown mode '" + name + "' (warm, cold, burst, rate)");
}

std::expected<BenchRun, std::string> run_bench(
    const BenchOptions& options,
    const std::function<void(const Progress&, const std::vector<Sample>&)>& progress) {
  const Target target = target_of(options.function);
  auto control = client_for(options.endpoint);
  // The first call says whether the endpoint and the function are there at all.
  {
    Sample probe = invoke_once(*control, target, options.payload);
    if (probe.status == 0)
      return std::unexpected("cannot reach " + options.endpoint + ": " + probe.error_type);
    if (probe.status == 404) return std::unexpected("function " + target.name + " not found");
  }
  std::vector<Sample> samples;
  std::mutex samples_mu;
  const auto record = [&](Sample s) {
    std::lock_guard lock(samples_mu);
    samples.push_back(std::move(s));
  };
  const auto begin = Clock::now();
  // Progress is reported from this thread while the workers run.
  std::atomic<bool> running{true};
  size_t expected_total = 0;
  std::thread reporter;
  if (progress) {
    reporter = std::thread([&] {
      while (running) {
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        std::lock_guard lock(samples_mu);
        progress(Progress{samples.size(), expected_total}, samples);
      }
    });
  }
  std::string error;
  switch (options.mode) {
    case Mode::Warm: {
      expected_total = options.count;
      on_workers(std::max<size_t>(1, options.concurrency), options.endpoint, options.count,
                 [&](size_t, httplib::Client& client) {
                   const auto t0 = Clock::now();
                   Sample s = invoke_once(client, target, options.payload);
                   s.start_ms = ms_since(begin, t0);
                   s.latency_ms = ms_since(t0, Clock::now());
                   record(std::move(s));
                 });
      break;
    }
    case Mode::Cold: {
      expected_total = options.count;
      for (size_t i = 0; i < options.count && error.empty(); ++i) {
        if (auto drained = drain(*control, target); !drained) {
          error = drained.error();
          break;
        }
        const auto t0 = Clock::now();
        Sample s = invoke_once(*control, target, options.payload);
        s.start_ms = ms_since(begin, t0);
        s.latency_ms = ms_since(t0, Clock::now());
        record(std::move(s));
      }
      break;
    }
    case Mode::Burst: {
      expected_total = options.concurrency;
      if (auto drained = drain(*control, target); !drained) {
        error = drained.error();
        break;
      }
      // Connections first, then every call released at once.
      std::vector<std::unique_ptr<httplib::Client>> clients;
      for (size_t i = 0; i < options.concurrency; ++i)
        clients.push_back(client_for(options.endpoint));
      std::atomic<bool> go{false};
      std::vector<std::thread> threads;
      for (size_t i = 0; i < options.concurrency; ++i) {
        threads.emplace_back([&, i] {
          while (!go) std::this_thread::yield();
          const auto t0 = Clock::now();
          Sample s = invoke_once(*clients[i], target, options.payload);
          s.start_ms = ms_since(begin, t0);
          s.latency_ms = ms_since(t0, Clock::now());
          record(std::move(s));
        });
      }
      go = true;
      for (auto& t : threads) t.join();
      break;
    }
    case Mode::Rate: {
      const double duration_s = std::chrono::duration<double>(options.duration).count();
      const size_t total = rate_total(options.rps, duration_s, options.ramp);
      expected_total = total;
      const auto start = Clock::now() + std::chrono::milliseconds(50);
      on_workers(
          options.rate_workers, options.endpoint, total, [&](size_t i, httplib::Client& client) {
            const auto due =
                start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                            rate_due_s(i, options.rps, duration_s, options.ramp)));
            std::this_thread::sleep_until(due);
            Sample s = invoke_once(client, target, options.payload);
            s.start_ms = ms_since(begin, due);
            s.latency_ms = ms_since(due, Clock::now());
            record(std::move(s));
          });
      break;
    }
  }
  running = false;
  if (reporter.joinable()) reporter.join();
  const double duration_s = std::chrono::duration<double>(Clock::now() - begin).count();
  if (!error.empty()) return std::unexpected(error);
  std::sort(samples.begin(), samples.end(),
            [](const Sample& a, const Sample& b) { return a.start_ms < b.start_ms; });
  return BenchRun{std::move(samples), duration_s};
}

}  // namespace runtimed::bench
