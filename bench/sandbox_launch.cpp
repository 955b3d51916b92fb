// Benchmark: sandbox launch latency (launch → first byte, launch → exit), prepare() and destroy
// times, each beside a bare fork+exec+wait of the same static probe.
#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_support.hpp"
#include "common/ids.hpp"
#include "sandbox/sandbox_host.hpp"

extern char** environ;

using namespace bench;

namespace {

double us_since(Clock::time_point t0, Clock::time_point t1) { return us(t1 - t0); }

// Reads one byte from fd; false on EOF.
bool read_byte(int fd) {
  char c;
  for (;;) {
    const ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    return n == 1;
  }
}

struct Sample {
  double first_byte_us = 0, exit_us = 0, launch_call_us = 0;
};

// (a) posix_spawn of the probe with stdout on a pipe: first byte, then waitpid.
Sample bare_run(const std::string& probe) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) die("pipe2");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, p[1], 1);
  char* argv[] = {const_cast<char*>(probe.c_str()), const_cast<char*>("first-byte"), nullptr};
  Sample s;
  const auto t0 = Clock::now();
  pid_t pid = -1;
  if (posix_spawn(&pid, probe.c_str(), &fa, nullptr, argv, environ) != 0) die("posix_spawn");
  ::close(p[1]);
  if (!read_byte(p[0])) die("bare probe wrote nothing");
  s.first_byte_us = us_since(t0, Clock::now());
  int status = 0;
  ::waitpid(pid, &status, 0);
  s.exit_us = us_since(t0, Clock::now());
  s.launch_call_us = s.first_byte_us;
  ::close(p[0]);
  posix_spawn_file_actions_destroy(&fa);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) die("bare probe failed");
  return s;
}

struct Bench {
  std::unique_ptr<sandbox::SandboxHost> host;
  std::filesystem::path code_dir;
  uint64_t tmp_mb = 512;
  size_t batch = 20;
  std::vector<double> prepare_us, destroy_us;
  bool network = false;  // an eth0 on a bridge of the bench's own (--network)
};

// MemAvailable from /proc/meminfo, in KiB.
long mem_available_kib() {
  std::FILE* f = std::fopen("/proc/meminfo", "r");
  if (!f) return 0;
  char line[256];
  long kib = 0;
  while (std::fgets(line, sizeof line, f))
    if (std::sscanf(line, "MemAvailable: %ld kB", &kib) == 1) break;
  std::fclose(f);
  return kib;
}

// (b) Launches one prepared environment running `rt-probe first-byte`.
Sample env_run(sandbox::Environment& env, const std::filesystem::path& code_dir) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) die("pipe2");
  sandbox::LaunchSpec spec;
  spec.code_dir = code_dir;
  spec.argv = {"/var/task/rt-probe", "first-byte"};
  spec.env = {"PATH=/usr/bin:/bin"};
  spec.limits.memory_mb = 128;
  spec.stdout_fd = p[1];
  Sample s;
  const auto t0 = Clock::now();
  auto launched = env.launch(spec);
  const auto t_launched = Clock::now();
  ::close(p[1]);
  if (!launched) die("launch: " + launched.error().to_string());
  if (!read_byte(p[0])) die("sandboxed probe wrote nothing: " + env.wait_exit().describe());
  s.first_byte_us = us_since(t0, Clock::now());
  const auto exit = env.wait_exit();
  s.exit_us = us_since(t0, Clock::now());
  s.launch_call_us = us_since(t0, t_launched);
  ::close(p[0]);
  if (exit.kind != sandbox::ExitStatus::Kind::Exited || exit.code != 0)
    die("sandboxed probe: " + exit.describe());
  return s;
}

// Runs `runs` launches, environments prepared `batch` at a time ahead of the timed part; with
// spacing > 0 launches start at fixed arrival times that far apart.
std::vector<Sample> env_scenario(Bench& b, int runs, std::chrono::milliseconds spacing) {
  std::vector<Sample> out;
  while (static_cast<int>(out.size()) < runs) {
    std::vector<std::unique_ptr<sandbox::Environment>> envs;
    const size_t n = std::min(b.batch, static_cast<size_t>(runs) - out.size());
    for (size_t i = 0; i < n; ++i) {
      const auto t0 = Clock::now();
      auto env = b.host->prepare(sandbox::PrepareOptions{b.tmp_mb, b.network});
      b.prepare_us.push_back(us_since(t0, Clock::now()));
      if (!env) die("prepare: " + env.error().to_string());
      envs.push_back(std::move(*env));
    }
    auto arrival = Clock::now();
    for (auto& env : envs) {
      if (spacing.count() > 0) {
        std::this_thread::sleep_until(arrival);
        arrival += spacing;
      }
      out.push_back(env_run(*env, b.code_dir));
    }
    for (auto& env : envs) {
      const auto t0 = Clock::now();
      env.reset();
      b.destroy_us.push_back(us_since(t0, Clock::now()));
    }
  }
  return out;
}

void row(const std::string& name, const std::vector<double>& v, const Stats& base) {
  const Stats s = stats(v);
  fmt::print("{:<44} {:>9.0f} {:>9.0f} {:>9.0f} {:>8.1f}x {:>8.1f}x\n", name, s.p50, s.p99, s.max,
             s.p50 / base.p50, s.p99 / base.p99);
}

std::vector<double> pick(const std::vector<Sample>& v, double Sample::*field) {
  std::vector<double> out;
  out.reserve(v.size());
  for (const auto& s : v) out.push_back(s.*field);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 200;
  Bench b;
  bool tmpfs = false;
  bool mkfs_each = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--runs" && i + 1 < argc)
      runs = std::atoi(argv[++i]);
    else if (a == "--batch" && i + 1 < argc)
      b.batch = std::max(1, std::atoi(argv[++i]));
    else if (a == "--tmp-mb" && i + 1 < argc)
      b.tmp_mb = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--tmpfs-tmp")
      tmpfs = true;
    else if (a == "--network")
      b.network = true;
    else if (a == "--mkfs-each")
      mkfs_each = true;
    else {
      std::fprintf(
          stderr,
          "usage: bench_sandbox_launch [--runs N] [--batch N] [--tmp-mb N] [--tmpfs-tmp] "
          "[--network] [--mkfs-each]\n"
          "  N launches per scenario (default 200); environments are prepared N at a time\n"
          "  (default 20) before the timed launches. --network gives each an eth0 on a bridge\n"
          "  of the bench's own (10.233.0.0/16), as serve's default does. --mkfs-each formats\n"
          "  every /tmp with mkfs.ext4 instead of copying the formatted template.\n");
      return 2;
    }
  }
  if (runs < 1) die("--runs must be positive");

  const std::string bin = RUNTIMED_BIN_DIR;
  const std::string probe = bin + "/rt-probe";
  std::string state_templ = "/tmp/rt-bench-state-XXXXXX";
  std::string code_templ = "/tmp/rt-bench-code-XXXXXX";
  if (!::mkdtemp(state_templ.data()) || !::mkdtemp(code_templ.data())) die("mkdtemp");
  ::chmod(code_templ.c_str(), 0755);
  b.code_dir = code_templ;
  std::filesystem::copy_file(probe, b.code_dir / "rt-probe");

  sandbox::SandboxOptions o;
  o.state_dir = state_templ;
  o.cgroup_parent = "rt-bench-" + common::random_hex(8);
  o.init_path = bin + "/runtimed-init";
  o.tmp_kind = tmpfs ? sandbox::ScratchDisk::Kind::Tmpfs : sandbox::ScratchDisk::Kind::LoopExt4;
  o.disk_templates = !mkfs_each;
  if (b.network) {
    sandbox::NetworkOptions net;
    net.bridge = "rtbench" + common::random_hex(4);
    net.cidr = "10.233.0.0/16";
    o.network = net;
  }
  {
    auto host = sandbox::SandboxHost::open(o);
    if (!host) die("open: " + host.error().to_string());
    b.host = std::move(*host);
  }

  // Warm-up (page cache, loop devices, cgroup hierarchy), discarded.
  for (int i = 0; i < 20; ++i) bare_run(probe);
  {
    Bench warm{std::move(b.host), b.code_dir, b.tmp_mb, 5, {}, {}, b.network};
    env_scenario(warm, 5, std::chrono::milliseconds(0));
    b.host = std::move(warm.host);
  }

  std::vector<Sample> bare;
  bare.reserve(static_cast<size_t>(runs));
  for (int i = 0; i < runs; ++i) bare.push_back(bare_run(probe));
  const auto b2b = env_scenario(b, runs, std::chrono::milliseconds(0));
  const auto spaced = env_scenario(b, runs, std::chrono::milliseconds(20));

  const Stats bare_first = stats(pick(bare, &Sample::first_byte_us));
  const Stats bare_exit = stats(pick(bare, &Sample::exit_us));
  fmt::print("sandbox launch: {} runs per scenario, /tmp {} ({} MB), prepare batch {}\n", runs,
             tmpfs ? "tmpfs" : "loop ext4", b.tmp_mb, b.batch);
  fmt::print("{:<44} {:>9} {:>9} {:>9} {:>9} {:>9}\n", "scenario (µs)", "p50", "p99", "max",
             "p50/bare", "p99/bare");
  row("bare posix_spawn → first byte", pick(bare, &Sample::first_byte_us), bare_first);
  row("bare posix_spawn → exit (waitpid)", pick(bare, &Sample::exit_us), bare_exit);
  row("launch → first byte, back to back", pick(b2b, &Sample::first_byte_us), bare_first);
  row("launch → exit, back to back", pick(b2b, &Sample::exit_us), bare_exit);
  row("launch() call returns, back to back", pick(b2b, &Sample::launch_call_us), bare_first);
  row("launch → first byte, 20 ms apart", pick(spaced, &Sample::first_byte_us), bare_first);
  row("launch → exit, 20 ms apart", pick(spaced, &Sample::exit_us), bare_exit);
  row("launch() call returns, 20 ms apart", pick(spaced, &Sample::launch_call_us), bare_first);
  row("prepare()", b.prepare_us, bare_exit);
  row("destroy (unique_ptr reset)", b.destroy_us, bare_exit);

  // Throughput of prepare() back to back, and what a prepared environment costs the host in
  // memory (MemAvailable before and after holding 100; page cache and slab included).
  {
    constexpr int kHeld = 100;
    std::vector<std::unique_ptr<sandbox::Environment>> held;
    const long before = mem_available_kib();
    const auto t0 = Clock::now();
    for (int i = 0; i < kHeld; ++i) {
      auto env = b.host->prepare(sandbox::PrepareOptions{b.tmp_mb, b.network});
      if (!env) die("prepare: " + env.error().to_string());
      held.push_back(std::move(*env));
    }
    const double seconds = us_since(t0, Clock::now()) / 1e6;
    const long after = mem_available_kib();
    fmt::print(
        "prepare() back to back: {:.0f} environments/s; {} held cost {:.0f} KiB each "
        "(MemAvailable){}\n",
        kHeld / seconds, kHeld, static_cast<double>(before - after) / kHeld,
        b.network ? ", networked" : "");
  }

  b.host.reset();
  std::error_code ec;
  std::filesystem::remove_all(state_templ, ec);
  std::filesystem::remove_all(code_templ, ec);
  return 0;
}
