// Benchmark: client-observed cold start, warm invoke latency (p50/p99) and warm throughput at
// concurrency 1/8/32 through the real daemon with a no-op keep-alive C runtime, each printed beside
// a bare loopback HTTP round trip and a bare fork+exec+wait measured in the same run.
#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "common/ids.hpp"
#include "runtimed/zip_writer.hpp"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "bench_daemon_invoke: %s\n", what.c_str());
  std::exit(1);
}

double us(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

struct Stats {
  double p50 = 0, p99 = 0;
};
Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  if (v.empty()) return {};
  return {v[v.size() / 2], v[std::min(v.size() - 1, v.size() * 99 / 100)]};
}

// A keep-alive HTTP/1.1 client over one socket: just enough for Content-Length responses.
class Connection {
 public:
  explicit Connection(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) die("connect");
  }
  ~Connection() { ::close(fd_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Returns the status code; the body in `body`.
  int request(const std::string& method, const std::string& path, const std::string& payload,
              std::string* body = nullptr) {
    std::string req = method + " " + path +
                      " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      "Content-Length: " +
                      std::to_string(payload.size()) + "\r\n\r\n" + payload;
    for (size_t off = 0; off < req.size();) {
      const ssize_t n = ::write(fd_, req.data() + off, req.size() - off);
      if (n <= 0) die("write");
      off += static_cast<size_t>(n);
    }
    for (;;) {
      const auto end = buf_.find("\r\n\r\n");
      if (end != std::string::npos) {
        const int status = std::atoi(buf_.c_str() + 9);
        size_t length = 0;
        auto cl = buf_.find("Content-Length: ");
        if (cl == std::string::npos || cl > end) cl = buf_.find("content-length: ");
        if (cl != std::string::npos && cl < end)
          length = std::strtoul(buf_.c_str() + cl + 16, nullptr, 10);
        if (buf_.size() >= end + 4 + length) {
          if (body) *body = buf_.substr(end + 4, length);
          buf_.erase(0, end + 4 + length);
          return status;
        }
      }
      char chunk[65536];
      const ssize_t n = ::read(fd_, chunk, sizeof chunk);
      if (n <= 0) die("read");
      buf_.append(chunk, static_cast<size_t>(n));
    }
  }

 private:
  int fd_ = -1;
  std::string buf_;
};

// The bare baseline: a blocking loopback HTTP server answering a fixed 200 on keep-alive.
class BareServer {
 public:
  BareServer() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(listen_fd_, 128);
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] {
      for (;;) {
        const int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) return;
        std::thread([c] { serve(c); }).detach();
      }
    });
  }
  ~BareServer() {
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    acceptor_.join();
  }
  int port() const { return port_; }

 private:
  static void serve(int c) {
    int one = 1;
    ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::string buf;
    static const std::string reply = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
    char chunk[65536];
    for (;;) {
      const auto end = buf.find("\r\n\r\n");
      if (end != std::string::npos) {
        auto cl = buf.find("Content-Length: ");
        const size_t length = cl < end ? std::strtoul(buf.c_str() + cl + 16, nullptr, 10) : 0;
        if (buf.size() >= end + 4 + length) {
          buf.erase(0, end + 4 + length);
          if (::write(c, reply.data(), reply.size()) < 0) break;
          continue;
        }
      }
      const ssize_t n = ::read(c, chunk, sizeof chunk);
      if (n <= 0) break;
      buf.append(chunk, static_cast<size_t>(n));
    }
    ::close(c);
  }
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread acceptor_;
};

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

double fork_exec_us(const std::string& binary) {
  char* argv[] = {const_cast<char*>(binary.c_str()), const_cast<char*>("exit"),
                  const_cast<char*>("0"), nullptr};
  const auto t0 = Clock::now();
  pid_t pid;
  if (posix_spawn(&pid, argv[0], nullptr, nullptr, argv, environ) != 0) die("spawn");
  int status;
  ::waitpid(pid, &status, 0);
  return us(Clock::now() - t0);
}

// Warm throughput: `concurrency` keep-alive clients for `seconds`.
double throughput(int port, const std::string& path, int concurrency, double seconds) {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> done{0}, refused{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < concurrency; ++i) {
    clients.emplace_back([&] {
      Connection c(port);
      while (!stop) {
        const int status = c.request("POST", path, "{}");
        (status == 200 ? done : refused)++;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : clients) t.join();
  if (refused > 0)
    std::fprintf(stderr, "  (%llu non-200 answers)\n", (unsigned long long)refused.load());
  return static_cast<double>(done) / seconds;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 2000;
  int cold_runs = 100;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--runs") runs = std::atoi(argv[i + 1]);
    if (std::string(argv[i]) == "--cold-runs") cold_runs = std::atoi(argv[i + 1]);
  }
  const fs::path bin = RUNTIMED_BIN_DIR;
  char state_template[] = "/tmp/rt-bench-XXXXXX";
  if (::mkdtemp(state_template) == nullptr) die("mkdtemp");
  const fs::path state = state_template;
  const int port = free_port();
  const std::string parent = "rt-bench-" + common::random_hex(6);
  const std::string listen = "127.0.0.1:" + std::to_string(port);
  std::vector<std::string> args = {(bin / "runtimed").string(),
                                   "serve",
                                   "--listen",
                                   listen,
                                   "--state-dir",
                                   state.string(),
                                   "--cgroup-parent",
                                   parent,
                                   "--freeze-after",
                                   "600000",
                                   "--prepared-pool",
                                   "8"};
  std::vector<char*> cargs;
  for (auto& a : args) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  pid_t daemon;
  if (posix_spawn(&daemon, cargs[0], nullptr, nullptr, cargs.data(), environ) != 0)
    die("spawn daemon");
  for (int i = 0;; ++i) {
    try {
      Connection c(port);
      if (c.request("GET", "/runtimed/v1/health", "") == 200) break;
    } catch (...) {
    }
    if (i > 500) die("daemon not healthy");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // The function: the static keep-alive C runtime as bootstrap.
  const fs::path code = state / "bench-code";
  fs::create_directories(code);
  fs::copy_file(bin / "fn-c_runtime", code / "bootstrap");
  auto zip = runtimed::zip_directory(code);
  if (!zip) die(zip.error());
  Connection api(port);
  std::string body;
  const std::string create =
      R"({"FunctionName":"noop","Runtime":"provided.al2023","Role":"r","Code":{"ZipFile":")" +
      base64(*zip) + R"("}})";
  if (api.request("POST", "/2015-03-31/functions", create, &body) != 201) die("create: " + body);
  const std::string invoke_path = "/2015-03-31/functions/noop/invocations";

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
  for (int i = 0; i < 200; ++i) spawn_us.push_back(fork_exec_us((bin / "rt-probe").string()));

  // Cold starts: each one after a configuration change retired the warm environment, with arrivals
  // spaced out (the RCU cost of cgroup attaches shows only when they are spaced).
  std::vector<double> cold;
  for (int i = 0; i < cold_runs; ++i) {
    const std::string put = R"({"Description":"run )" + std::to_string(i) + R"("})";
    if (api.request("PUT", "/2015-03-31/functions/noop/configuration", put, &body) != 200) {
      die("update: " + body);
    }
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
  for (int conc : {1, 8, 32}) {
    const double bare_rate = throughput(bare.port(), "/", conc, 2.0);
    const double rate = throughput(port, invoke_path, conc, 3.0);
    std::printf("%-44s %12.0f %11.2fx   (bare server %0.f/s)\n",
                fmt::format("concurrency {}", conc).c_str(), rate, rate / bare_rate, bare_rate);
  }
  ::kill(daemon, SIGTERM);
  int status;
  ::waitpid(daemon, &status, 0);
  std::error_code ec;
  fs::remove_all(state, ec);
  return 0;
}
