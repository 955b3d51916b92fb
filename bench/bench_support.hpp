// What the benchmarks share: percentiles, a raw keep-alive HTTP/1.1 client (lighter than any
// library client, so it adds little to what is measured), the bare loopback server every daemon
// figure is compared with, and a bare fork+exec+wait.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

extern char** environ;

namespace bench {

using Clock = std::chrono::steady_clock;

inline double us(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }
inline double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

struct Stats {
  double p50 = 0, p99 = 0, max = 0;
};
inline Stats stats(std::vector<double> v) {
  if (v.empty()) return {};
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v[std::min(v.size() - 1, v.size() * 99 / 100)], v.back()};
}

[[noreturn]] inline void die(const std::string& what) {
  std::fprintf(stderr, "bench: %s\n", what.c_str());
  std::exit(1);
}

// A keep-alive HTTP/1.1 client over one socket: just enough for Content-Length responses.
// Throws std::runtime_error when the peer is not there or goes away.
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
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd_);
      throw std::runtime_error("connect to port " + std::to_string(port));
    }
  }
  ~Connection() { ::close(fd_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Returns the status code; the body in `body`. `extra_headers` are whole "Name: value\r\n" lines.
  // A chunked answer is read to its last chunk; `first_chunk` (when given) is when its first
  // non-empty chunk had arrived whole.
  int request(const std::string& method, const std::string& path, const std::string& payload,
              std::string* body = nullptr, const std::string& extra_headers = "",
              Clock::time_point* first_chunk = nullptr) {
    std::string req =
        method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
        extra_headers + "Content-Length: " + std::to_string(payload.size()) + "\r\n\r\n" + payload;
    for (size_t off = 0; off < req.size();) {
      const ssize_t n = ::write(fd_, req.data() + off, req.size() - off);
      if (n <= 0) throw std::runtime_error("write");
      off += static_cast<size_t>(n);
    }
    std::string chunked_body;
    size_t chunk_at = 0;  // chunked: where the next chunk's size line starts in buf_
    for (;;) {
      const auto end = buf_.find("\r\n\r\n");
      if (end != std::string::npos) {
        const int status = std::atoi(buf_.c_str() + 9);
        const std::string_view head(buf_.data(), end);
        if (head.find("Transfer-Encoding: chunked") != std::string_view::npos ||
            head.find("transfer-encoding: chunked") != std::string_view::npos) {
          if (chunk_at == 0) chunk_at = end + 4;
          for (;;) {
            const auto line_end = buf_.find("\r\n", chunk_at);
            if (line_end == std::string::npos) break;
            const size_t size = std::strtoul(buf_.c_str() + chunk_at, nullptr, 16);
            if (buf_.size() < line_end + 2 + size + 2) break;
            if (size == 0) {
              if (body) *body = std::move(chunked_body);
              buf_.erase(0, line_end + 4);
              return status;
            }
            if (first_chunk && chunked_body.empty()) *first_chunk = Clock::now();
            chunked_body.append(buf_, line_end + 2, size);
            chunk_at = line_end + 2 + size + 2;
          }
        } else {
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
      }
      char chunk[65536];
      const ssize_t n = ::read(fd_, chunk, sizeof chunk);
      if (n <= 0) throw std::runtime_error("read");
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
    socklen_t len = sizeof a;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listen_fd_, 128) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      die("bare server: bind/listen");
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
  BareServer(const BareServer&) = delete;
  BareServer& operator=(const BareServer&) = delete;
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

// fork+exec+wait of `argv` with its output discarded; the time taken in ms.
inline double bare_run_ms(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  const auto t = Clock::now();
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) die("spawn " + args[0]);
  posix_spawn_file_actions_destroy(&fa);
  int status = 0;
  ::waitpid(pid, &status, 0);
  const double ms = ms_since(t);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) die("bare run failed: " + args[0]);
  return ms;
}

// `concurrency` keep-alive clients POSTing `payload` to `path` for `seconds`: 2xx answers per
// second; other answers are counted into `refused` when given.
inline double throughput(int port, const std::string& path, int concurrency, double seconds,
                         const std::string& payload = "{}", const std::string& extra_headers = "",
                         std::atomic<uint64_t>* refused = nullptr) {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> done{0};
  std::vector<std::thread> clients;
  clients.reserve(static_cast<size_t>(concurrency));
  for (int i = 0; i < concurrency; ++i) {
    clients.emplace_back([&] {
      Connection c(port);
      while (!stop) {
        const int status = c.request("POST", path, payload, nullptr, extra_headers);
        if (status >= 200 && status < 300)
          ++done;
        else if (refused)
          ++*refused;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : clients) t.join();
  return static_cast<double>(done) / seconds;
}

}  // namespace bench
