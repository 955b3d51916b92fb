// run_bench (see bench_runner.hpp).
#include "runtimed/bench/bench_runner.hpp"

#include <fmt/format.h>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "runtimed/bench/bench_client.hpp"

namespace runtimed::bench {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

Clock::duration seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
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

// One run's shared state: the samples so far, the clock they count from, the control connection.
class Run {
 public:
  explicit Run(const BenchOptions& options)
      : options_(options), control_(client_for(options.endpoint)) {}

  const BenchOptions& options() const { return options_; }
  httplib::Client& control() { return *control_; }
  Clock::time_point begin() const { return begin_; }
  void start_clock() { begin_ = Clock::now(); }

  void record(Sample s) {
    std::lock_guard lock(mu_);
    samples_.push_back(std::move(s));
  }
  // A call timed from now, with its start in the run's time.
  Sample timed_call(httplib::Client& client, const Target& target) {
    const auto t0 = Clock::now();
    Sample s = invoke_once(client, target, options_.payload);
    s.start_ms = ms_since(begin_, t0);
    s.latency_ms = ms_since(t0, Clock::now());
    return s;
  }
  // Calls each due at its arrival's time, latency from then (the open model of rate and replay).
  void open_model(const std::vector<Arrival>& arrivals, const std::vector<Target>& targets,
                  bool name_function) {
    const auto start = Clock::now() + std::chrono::milliseconds(50);
    on_workers(options_.rate_workers, options_.endpoint, arrivals.size(),
               [&](size_t i, httplib::Client& client) {
                 const auto due = start + seconds(arrivals[i].due_s);
                 std::this_thread::sleep_until(due);
                 const Target& target = targets[arrivals[i].target];
                 Sample s = invoke_once(client, target, options_.payload);
                 s.start_ms = ms_since(begin_, due);
                 s.latency_ms = ms_since(due, Clock::now());
                 if (name_function) s.function = target.name;
                 record(std::move(s));
               });
  }

  std::mutex& mu() { return mu_; }
  std::vector<Sample>& samples() { return samples_; }
  std::atomic<size_t> expected_total{0};
  std::vector<std::string> notes;

 private:
  const BenchOptions& options_;
  std::unique_ptr<httplib::Client> control_;
  Clock::time_point begin_ = Clock::now();
  std::mutex mu_;
  std::vector<Sample> samples_;
};

std::vector<Target> targets_of(const std::string& list) {
  std::vector<Target> targets;
  std::stringstream parts(list);
  std::string part;
  while (std::getline(parts, part, ','))
    if (!part.empty()) targets.push_back(target_of(part));
  return targets;
}

std::expected<void, std::string> run_warm(Run& run, const Target& target) {
  const BenchOptions& o = run.options();
  run.expected_total = o.count;
  on_workers(std::max<size_t>(1, o.concurrency), o.endpoint, o.count,
             [&](size_t, httplib::Client& client) { run.record(run.timed_call(client, target)); });
  return {};
}

std::expected<void, std::string> run_cold(Run& run, const Target& target) {
  run.expected_total = run.options().count;
  for (size_t i = 0; i < run.options().count; ++i) {
    if (auto drained = drain(run.control(), target); !drained) return drained;
    run.record(run.timed_call(run.control(), target));
  }
  return {};
}

std::expected<void, std::string> run_burst(Run& run, const Target& target) {
  const BenchOptions& o = run.options();
  run.expected_total = o.concurrency;
  if (auto drained = drain(run.control(), target); !drained) return drained;
  // Connections first, then every call released at once.
  std::vector<std::unique_ptr<httplib::Client>> clients;
  for (size_t i = 0; i < o.concurrency; ++i) clients.push_back(client_for(o.endpoint));
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (size_t i = 0; i < o.concurrency; ++i) {
    threads.emplace_back([&, i] {
      while (!go) std::this_thread::yield();
      run.record(run.timed_call(*clients[i], target));
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  return {};
}

std::expected<void, std::string> run_rate(Run& run, const Target& target) {
  const BenchOptions& o = run.options();
  const auto arrivals =
      rate_schedule(o.rps, std::chrono::duration<double>(o.duration).count(), o.ramp);
  run.expected_total = arrivals.size();
  run.open_model(arrivals, {target}, false);
  return {};
}

// K calls after each gap, the environment left alone for the gap since the previous call ended.
std::expected<void, std::string> run_idle(Run& run, const Target& target) {
  const BenchOptions& o = run.options();
  run.expected_total = o.gaps_s.size() * o.samples;
  for (const double gap : o.gaps_s) {
    for (size_t k = 0; k < o.samples; ++k) {
      std::this_thread::sleep_for(seconds(gap));
      Sample s = run.timed_call(run.control(), target);
      s.idle_gap_s = gap;
      run.record(std::move(s));
    }
  }
  return {};
}

std::expected<void, std::string> sweep_memory(Run& run, const Target& target) {
  const BenchOptions& o = run.options();
  run.expected_total = o.sizes_mb.size() * o.count * 2;
  for (const int size : o.sizes_mb) {
    if (auto set = set_memory_size(run.control(), target, size, o.update_timeout); !set) return set;
    for (size_t i = 0; i < o.count; ++i) {
      if (auto drained = drain(run.control(), target); !drained) return drained;
      Sample s = run.timed_call(run.control(), target);
      s.memory_mb = size;
      run.record(std::move(s));
    }
    // The last cold call left one environment warm at this size.
    for (size_t i = 0; i < o.count; ++i) {
      Sample s = run.timed_call(run.control(), target);
      s.memory_mb = size;
      run.record(std::move(s));
    }
  }
  return {};
}

std::expected<void, std::string> run_memory(Run& run, const Target& target) {
  if (!target.qualifier.empty() && target.qualifier != "$LATEST")
    return std::unexpected("memory mode updates $LATEST's configuration; a qualifier (" +
                           target.qualifier + ") would not see it");
  const auto original = memory_size(run.control(), target);
  if (!original) return std::unexpected(original.error());
  auto swept = sweep_memory(run, target);
  // Put the function back as it was, whatever happened.
  auto restored = set_memory_size(run.control(), target, *original, run.options().update_timeout);
  run.notes.push_back(fmt::format("MemorySize put back to {} MB{}", *original,
                                  restored ? "" : ": " + restored.error()));
  if (!swept) return swept;
  if (!restored) return std::unexpected(restored.error());
  return {};
}

std::expected<void, std::string> run_replay(Run& run, const std::vector<Target>& targets) {
  const BenchOptions& o = run.options();
  std::ifstream in(o.trace_file, std::ios::binary);
  if (!in) return std::unexpected("cannot read the trace " + o.trace_file);
  auto trace = parse_azure_trace(in, o.trace_functions);
  if (!trace) return std::unexpected(o.trace_file + ": " + trace.error());
  ReplayOptions replay = o.replay;
  replay.targets = targets.size();
  if (replay.first_minute >= trace->minutes)
    return std::unexpected(fmt::format("--first-minute {}: the trace has {} minutes",
                                       replay.first_minute, trace->minutes));
  // 16 bytes a call: past this the schedule alone would take more than 800 MB.
  constexpr uint64_t kMaxCalls = 50'000'000;
  if (const uint64_t calls = replay_size(*trace, replay); calls > kMaxCalls)
    return std::unexpected(fmt::format(
        "the replay would make {} calls (at most {}): narrow it with --minutes or --functions",
        calls, kMaxCalls));
  const auto arrivals = replay_schedule(*trace, replay);
  const size_t minutes = replay.minutes == 0
                             ? trace->minutes - std::min(trace->minutes, replay.first_minute)
                             : replay.minutes;
  run.notes.push_back(fmt::format(
      "replay: the {} busiest of {} trace functions, minutes {}-{} at {}x: {} calls over {:.1f} s",
      trace->busiest.size(), trace->rows, replay.first_minute + 1, replay.first_minute + minutes,
      replay.speedup, arrivals.size(), 60.0 * static_cast<double>(minutes) / replay.speedup));
  for (size_t k = 0; k < trace->busiest.size(); ++k) {
    const auto& f = trace->busiest[k];
    run.notes.push_back(fmt::format("  {} ({}, {} calls) -> {}", f.function.substr(0, 12),
                                    f.trigger, f.total, targets[k % targets.size()].name));
  }
  run.expected_total = arrivals.size();
  run.open_model(arrivals, targets, true);
  return {};
}

}  // namespace

std::expected<Mode, std::string> parse_mode(const std::string& name) {
  if (name == "warm") return Mode::Warm;
  if (name == "cold") return Mode::Cold;
  if (name == "burst") return Mode::Burst;
  if (name == "rate") return Mode::Rate;
  if (name == "idle") return Mode::Idle;
  if (name == "memory") return Mode::Memory;
  if (name == "replay") return Mode::Replay;
  if (name == "overhead") return Mode::Overhead;
  return std::unexpected("unknown mode '" + name +
                         "' (warm, cold, burst, rate, idle, memory, replay, overhead)");
}

std::expected<BenchRun, std::string> run_bench(
    const BenchOptions& options,
    const std::function<void(const Progress&, const std::vector<Sample>&)>& progress) {
  BenchRun result;
  if (options.baseline || options.mode == Mode::Overhead) {
    auto overhead = measure_client_overhead(1000, std::min<size_t>(options.rate_workers, 8),
                                            std::chrono::milliseconds(1000));
    if (!overhead) return std::unexpected(overhead.error());
    result.overhead = *overhead;
    if (options.mode == Mode::Overhead) return result;
  }
  const std::vector<Target> targets = targets_of(options.function);
  if (targets.empty()) return std::unexpected("no function given");
  if (targets.size() > 1 && options.mode != Mode::Replay)
    return std::unexpected("only replay takes several functions");
  Run run(options);
  // The first call to each says whether the endpoint and the function are there at all, and
  // leaves it warm (idle mode starts from there).
  for (const Target& target : targets) {
    if (!options.probe) break;
    Sample probe = invoke_once(run.control(), target, options.payload);
    if (probe.status == 0)
      return std::unexpected("cannot reach " + options.endpoint + ": " + probe.error_type);
    if (probe.status == 404) return std::unexpected("function " + target.name + " not found");
  }
  run.start_clock();
  // Progress is reported from this thread every 250 ms while the workers run; told to stop, it
  // stops at once rather than at the end of its wait.
  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool running = true;
  std::thread reporter;
  if (progress) {
    reporter = std::thread([&] {
      const auto stopped = [&] { return !running; };
      std::unique_lock stop_lock(stop_mu);
      while (!stop_cv.wait_for(stop_lock, std::chrono::milliseconds(250), stopped)) {
        std::lock_guard lock(run.mu());
        progress(Progress{run.samples().size(), run.expected_total}, run.samples());
      }
    });
  }
  std::expected<void, std::string> outcome;
  switch (options.mode) {
    case Mode::Warm:
      outcome = run_warm(run, targets[0]);
      break;
    case Mode::Cold:
      outcome = run_cold(run, targets[0]);
      break;
    case Mode::Burst:
      outcome = run_burst(run, targets[0]);
      break;
    case Mode::Rate:
      outcome = run_rate(run, targets[0]);
      break;
    case Mode::Idle:
      outcome = run_idle(run, targets[0]);
      break;
    case Mode::Memory:
      outcome = run_memory(run, targets[0]);
      break;
    case Mode::Replay:
      outcome = run_replay(run, targets);
      break;
    case Mode::Overhead:
      break;
  }
  // The rate counts the calls' time only, not the reporter's last wait: taken after the join, the
  // duration held up to 250 ms more (1,000 calls in 0.2 s read as up to 0.45 s, 2,200/s not 5,000).
  result.duration_s = std::chrono::duration<double>(Clock::now() - run.begin()).count();
  {
    std::lock_guard stop_lock(stop_mu);
    running = false;
  }
  stop_cv.notify_all();
  if (reporter.joinable()) reporter.join();
  if (!outcome) return std::unexpected(outcome.error());
  result.samples = std::move(run.samples());
  result.notes = std::move(run.notes);
  std::stable_sort(result.samples.begin(), result.samples.end(),
                   [](const Sample& a, const Sample& b) { return a.start_ms < b.start_ms; });
  return result;
}

}  // namespace runtimed::bench
