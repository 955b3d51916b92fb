// Benchmark: the managed python and node runtimes through the real daemon: client-observed cold
// start (first invoke after CreateFunction), Init Duration from the REPORT line, warm p50/p99,
// each beside the bare interpreter (`python3 -c pass`, `node -e 0`, fork+exec+wait) in the same
// run.
#include <fcntl.h>
#include <fmt/format.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/ids.hpp"
#include "runtimed/zip_writer.hpp"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

int g_cold_rounds = 10;
int g_warm_rounds = 300;
int g_bare_rounds = 10;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "bench_runtime_cold_start: %s\n", what.c_str());
  std::exit(1);
}

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

struct Stats {
  double p50 = 0, p99 = 0;
};
Stats stats(std::vector<double> v) {
  if (v.empty()) return {};
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v[std::min(v.size() - 1, v.size() * 99 / 100)]};
}

pid_t spawn(const std::vector<std::string>& args, const std::string& out_path) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) die("spawn " + args[0]);
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

// The bare interpreter: fork+exec+wait, no sandbox, no daemon.
std::vector<double> bare_runs(const std::vector<std::string>& args) {
  std::vector<double> out;
  for (int i = 0; i < g_bare_rounds; ++i) {
    const auto t = Clock::now();
    const pid_t pid = spawn(args, "/dev/null");
    int status = 0;
    ::waitpid(pid, &status, 0);
    out.push_back(ms_since(t));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) die("bare run failed: " + args[0]);
  }
  return out;
}

int free_port() {
  const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  return ntohs(a.sin_port);
}

std::string base64(const std::string& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], t[v & 63]};
  }
  if (i + 1 == in.size()) {
    const uint32_t v = uint8_t(in[i]) << 16;
    out += {t[v >> 18], t[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], '='};
  }
  return out;
}

std::string base64_decode(const std::string& in) {
  std::string out;
  uint32_t buf = 0;
  int bits = 0;
  for (char c : in) {
    const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char* p = c ? std::strchr(t, c) : nullptr;
    if (p == nullptr) continue;
    buf = (buf << 6) | static_cast<uint32_t>(p - t);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buf >> bits) & 0xff));
    }
  }
  return out;
}

// A real `runtimed serve` on a free port with its own state dir and cgroup parent.
class Daemon {
 public:
  Daemon() : port_(free_port()) {
    char tmpl[] = "/tmp/rt-bench-rt-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) die("mkdtemp");
    state_ = tmpl;
    pid_ = spawn({(fs::path(RUNTIMED_BIN_DIR) / "runtimed").string(), "serve", "--listen",
                  fmt::format("127.0.0.1:{}", port_), "--state-dir", state_.string(),
                  "--cgroup-parent", "rt-bench-" + common::random_hex(8), "--prepared-pool", "2"},
                 state_.string() + ".log");
    const auto until = Clock::now() + std::chrono::seconds(15);
    while (Clock::now() < until) {
      auto r = client().Get("/runtimed/v1/health");
      if (r && r->status == 200) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    die("runtimed did not become healthy");
  }
  ~Daemon() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    std::error_code ec;
    fs::remove_all(state_, ec);
    fs::remove(state_.string() + ".log", ec);
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(60, 0);
    c.set_tcp_nodelay(true);
    return c;
  }

 private:
  int port_;
  fs::path state_;
  pid_t pid_ = -1;
};

std::string zip_of(const std::map<std::string, std::string>& files) {
  char tmpl[] = "/tmp/rt-bench-fn-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) die("mkdtemp");
  for (const auto& [name, text] : files) std::ofstream(fs::path(tmpl) / name) << text;
  auto zip = runtimed::zip_directory(tmpl);
  std::error_code ec;
  fs::remove_all(tmpl, ec);
  if (!zip) die("zip: " + zip.error());
  return *zip;
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

Figures measure(const Daemon& daemon, const Language& lang) {
  Figures f;
  auto client = daemon.client();
  const std::string zip = base64(zip_of(lang.files));
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
    // Spaced arrivals, as cold starts come in practice (see PERFORMANCE.md on RCU waits).
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const auto t = Clock::now();
    auto r = client.Post("/2015-03-31/functions/" + name + "/invocations",
                         {{"X-Amz-Log-Type", "Tail"}}, "{}", "application/json");
    cold.push_back(ms_since(t));
    if (!r || r->status != 200 || r->has_header("X-Amz-Function-Error"))
      die("cold invoke " + name + ": " + (r ? r->body : "no answer"));
    init.push_back(init_duration(base64_decode(r->get_header_value("X-Amz-Log-Result"))));
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
  Daemon daemon;
  fmt::print("runtime_cold_start: {} cold starts, {} warm invocations per runtime (ms)\n",
             g_cold_rounds, g_warm_rounds);
  fmt::print("{:<8} {:>14} {:>14} {:>14} {:>14} {:>12} {:>12}\n", "runtime", "cold p50/p99",
             "init p50/p99", "warm p50/p99", "bare p50/p99", "cold/bare", "init/bare");
  for (const auto& lang : languages) {
    const Figures f = measure(daemon, lang);
    fmt::print(
        "{:<8} {:>6.1f}/{:<7.1f} {:>6.1f}/{:<7.1f} {:>6.2f}/{:<7.2f} {:>6.1f}/{:<7.1f} {:>11.2f}x "
        "{:>11.2f}x\n",
        lang.name, f.cold.p50, f.cold.p99, f.init.p50, f.init.p99, f.warm.p50, f.warm.p99,
        f.bare.p50, f.bare.p99, f.cold.p50 / f.bare.p50, f.init.p50 / f.bare.p50);
  }
  return 0;
}
