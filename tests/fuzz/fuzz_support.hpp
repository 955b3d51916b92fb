// What the harnesses share: quiet logs, a scratch directory on tmpfs, and a loopback client that
// sends raw bytes to a real api::HttpServer listener and reads until the server closes.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace fuzz {

// OpenSSL without its exit-time cleanup. The harnesses' static fixtures keep server threads alive
// until the process ends; OpenSSL's atexit cleanup deleted its per-thread key while such a thread
// still held its error state (allocated by the one-time config load, OPENSSL_init_crypto ->
// CONF_modules_load_file_ex -> ERR_set_mark, when the first EVP_Digest ran on the io thread), and
// LeakSanitizer then reported those 904 bytes as a direct leak after some runs. Without the
// cleanup the state stays owned by the live thread, as in the daemon, which joins its threads
// before it exits.
inline void openssl_without_exit_cleanup() { OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, nullptr); }

// Every module logger registered up front with a null sink: libFuzzer's output stays readable and
// a log line per input does not dominate the run. (Modules look their logger up by name first.)
inline void quiet_logs() {
  auto sink = std::make_shared<spdlog::sinks::null_sink_mt>();
  for (const char* name :
       {"http", "runtime_api", "function_api", "function_store", "code_store", "state_db"}) {
    if (!spdlog::get(name)) {
      auto logger = std::make_shared<spdlog::logger>(name, sink);
      logger->set_level(spdlog::level::off);
      spdlog::register_logger(logger);
    }
  }
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("fuzz", sink));
  spdlog::set_level(spdlog::level::off);
}

// A fresh directory under $RUNTIMED_FUZZ_SCRATCH (scripts/fuzz.sh removes it afterwards), else
// /dev/shm: tmpfs, so SQLite's fsyncs and unzipped files stay in memory.
inline std::filesystem::path scratch_dir(const char* name) {
  const char* parent = std::getenv("RUNTIMED_FUZZ_SCRATCH");
  std::string tmpl =
      std::string(parent ? parent : "/dev/shm") + "/runtimed-fuzz-" + name + "-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  // libFuzzer ends a run with exit(): the directory goes then (a crash leaves it for a look).
  static std::vector<std::filesystem::path> made;
  made.emplace_back(tmpl);
  if (made.size() == 1) {
    std::atexit([] {
      std::error_code ec;
      for (const auto& p : made) std::filesystem::remove_all(p, ec);
    });
  }
  return tmpl;
}

// Connects to 127.0.0.1:port, sends `bytes`, half-closes, and reads the answers until the server
// closes the connection or `quiet_ms` pass without a byte (a parked long poll). Returns what was
// read. `on_quiet` is called at each quiet period (up to `max_quiet` times) and may unblock the
// server; reading goes on after it.
template <typename OnQuiet>
std::string exchange(uint16_t port, std::string_view bytes, int quiet_ms, int max_quiet,
                     OnQuiet on_quiet) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) std::abort();
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // libFuzzer's timers interrupt system calls: an interrupted connect goes on in the background.
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    if (err == EINTR) {
      pollfd p{fd, POLLOUT, 0};
      while (::poll(&p, 1, 5000) < 0 && errno == EINTR) {
      }
      socklen_t len = sizeof err;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    }
    if (err != 0) {
      std::fprintf(stderr, "connect: %s\n", std::strerror(err));
      std::abort();
    }
  }
  size_t off = 0;
  std::string answer;
  char buf[16384];
  // Write and read together: a server answering early must not block our write.
  while (off < bytes.size()) {
    pollfd p{fd, POLLOUT | POLLIN, 0};
    const int r = ::poll(&p, 1, 1000);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    if (p.revents & POLLIN) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      answer.append(buf, static_cast<size_t>(n));
    }
    if (p.revents & POLLOUT) {
      const ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    if (p.revents & (POLLERR | POLLHUP)) break;
  }
  ::shutdown(fd, SHUT_WR);
  int quiet = 0;
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    const int r = ::poll(&p, 1, quiet_ms);
    if (r == 0) {
      if (quiet++ >= max_quiet) break;
      on_quiet();
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) break;
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    answer.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return answer;
}

}  // namespace fuzz
