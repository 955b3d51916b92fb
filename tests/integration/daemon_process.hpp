// A real `runtimed serve` for integration tests: started on a free loopback port with its own state
// dir and cgroup parent, waited for until healthy, stopped with SIGTERM; plus helpers to zip test
// functions and call the Lambda API over real HTTP.
#pragma once

#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/base64.hpp"
#include "common/ids.hpp"
#include "runtimed/cli/zip_writer.hpp"
#include "tests/integration/support.hpp"

namespace testsupport {

// A zip of `files` (relative name -> content), plus `bootstrap_source` copied in as an executable
// `bootstrap` when given.
inline std::string zip_of(const std::map<std::string, std::string>& files,
                          const std::filesystem::path& bootstrap_source = {}) {
  TempDir dir("rt-fn");
  if (!bootstrap_source.empty()) {
    std::filesystem::copy_file(bootstrap_source, dir.path() / "bootstrap");
    std::filesystem::permissions(dir.path() / "bootstrap", std::filesystem::perms(0755));
  }
  for (const auto& [name, text] : files) {
    std::filesystem::create_directories((dir.path() / name).parent_path());
    std::ofstream(dir.path() / name) << text;
  }
  auto zip = runtimed::zip_directory(dir.path());
  if (!zip) throw std::runtime_error("zip: " + zip.error());
  return *zip;
}

// A zip of a function whose bootstrap is the static C test runtime (or `bootstrap_source`).
inline std::string function_zip(
    const std::filesystem::path& bootstrap_source = bin_path("fn-c_runtime")) {
  return zip_of({}, bootstrap_source);
}

inline nlohmann::json body_json(const httplib::Result& r) { return nlohmann::json::parse(r->body); }

// A response header's value, or "" when absent.
inline std::string header(const httplib::Result& r, const std::string& name) {
  return r->has_header(name) ? r->get_header_value(name) : "";
}

class DaemonProcess {
 public:
  // `state_dir` and `cgroup_parent` default to fresh ones (a restart test passes the same twice);
  // `binary` to this build's runtimed (the install test runs an installed one).
  explicit DaemonProcess(std::vector<std::string> extra = {},
                         const std::filesystem::path& state_dir = {},
                         const std::string& cgroup_parent = {},
                         const std::filesystem::path& binary = {})
      : state_("rt-daemon-state") {
    tls_ = std::find(extra.begin(), extra.end(), "--tls-cert") != extra.end();
    state_dir_ = state_dir.empty() ? state_.path() : state_dir;
    cgroup_parent_ = cgroup_parent.empty() ? "rt-dtest-" + common::random_hex(8) : cgroup_parent;
    std::vector<std::string> args = {
        binary.empty() ? bin_path("runtimed").string() : binary.string(), "serve",
        // The daemon binds a port of its own choosing and says which (see below).
        "--listen", "127.0.0.1:0", "--state-dir", state_dir_.string(), "--cgroup-parent",
        cgroup_parent_};
    // A small prepared pool keeps many test daemons light, unless the caller sizes it.
    if (std::find(extra.begin(), extra.end(), "--prepared-pool") == extra.end())
      extra.insert(extra.end(), {"--prepared-pool", "2"});
    // Loopback-only environments, unless the test is about networking: a bridge is one per
    // daemon, and the tests' many daemons would contend for the default one.
    if (std::find(extra.begin(), extra.end(), "--network") == extra.end())
      extra.insert(extra.end(), {"--network", "none"});
    // No stems (prestarted python and node runtimes) unless the test is about them: dozens of test
    // daemons would each start a python and a node.
    if (std::find(extra.begin(), extra.end(), "--stem-cells") == extra.end())
      extra.insert(extra.end(), {"--stem-cells", "0"});
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    log_path_ = state_.path().string() + ".log";
    const int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log_fd < 0) throw std::runtime_error("open " + log_path_);
    // fork+exec rather than posix_spawn, to set PR_SET_PDEATHSIG: a test or benchmark that dies
    // (a timeout, a crash, exit() from a failed check) takes its daemon with it, which then cleans
    // up its environments on SIGTERM as usual.
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(1);  // the parent died before prctl took effect
      ::dup2(log_fd, 1);
      ::dup2(log_fd, 2);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(log_fd);
    if (pid_ < 0) throw std::runtime_error("fork for runtimed");
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    // The port it bound, from its "listening on" line: a port picked here and released could be
    // taken by another test's daemon first, and the health check would then reach that one.
    while (port_ == 0 && std::chrono::steady_clock::now() < until) {
      port_ = listening_port();
      int status = 0;
      if (port_ == 0 && ::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("runtimed exited at start: " + daemon_log());
      }
      if (port_ == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    while (port_ != 0 && std::chrono::steady_clock::now() < until) {
      auto r = client().Get("/runtimed/v1/health");
      // 403: up, and asking for a signature (--credentials).
      if (r && (r->status == 200 || r->status == 403)) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("runtimed did not become healthy: " + daemon_log());
  }

  ~DaemonProcess() {
    if (pid_ > 0) stop();
    std::error_code ec;
    std::filesystem::remove(log_path_, ec);
  }

  // SIGTERM and wait; returns the wait status. Once stopped, the same status again: never
  // kill(-1), which would signal every process.
  int stop(int sig = SIGTERM) {
    if (pid_ <= 0) return stop_status_;
    ::kill(pid_, sig);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    stop_status_ = status;
    return status;
  }

  // With --tls-cert: HTTPS, verified against the CA given to trust() (until then, not verified:
  // waiting for the daemon to come up needs no trust).
  httplib::Client client() const {
    httplib::Client c = tls_ ? httplib::Client("https://127.0.0.1:" + std::to_string(port_))
                             : httplib::Client("127.0.0.1", port_);
    if (tls_ && trusted_ca_.empty()) c.enable_server_certificate_verification(false);
    if (tls_ && !trusted_ca_.empty()) c.set_ca_cert_path(trusted_ca_.string());
    c.set_read_timeout(60, 0);
    c.set_connection_timeout(5, 0);
    return c;
  }

  // CreateFunction with the C test runtime; returns the HTTP status.
  int create_function(const std::string& name,
                      const nlohmann::json& extra = nlohmann::json::object(),
                      const std::string& zip = function_zip()) {
    nlohmann::json body = {{"FunctionName", name},
                           {"Runtime", "provided.al2023"},
                           {"Role", "arn:aws:iam::000000000000:role/test"},
                           {"Code", {{"ZipFile", common::base64_encode(zip)}}}};
    body.update(extra);
    auto r = client().Post("/2015-03-31/functions", body.dump(), "application/json");
    return r ? r->status : -1;
  }

  httplib::Result invoke(const std::string& name, const std::string& payload,
                         const httplib::Headers& headers = {}) const {
    return client().Post("/2015-03-31/functions/" + name + "/invocations", headers, payload,
                         "application/json");
  }

  // ApproximateNumberOfMessages of local message queue `queue` (0 when it does not exist yet, -1
  // when the daemon does not answer).
  int64_t queue_depth(const std::string& queue) const {
    auto r = client().Get("/runtimed/v1/queues");
    if (!r || r->status != 200) return -1;
    // Named: a range-for over a member of a temporary would dangle (before C++23's P2718).
    const nlohmann::json body = nlohmann::json::parse(r->body);
    for (const auto& q : body["Queues"])
      if (q["Name"] == queue) return q["ApproximateNumberOfMessages"].get<int64_t>();
    return 0;
  }

  // GetFunctionConcurrency as this daemon answers it: in a cluster, the reservation it has
  // learned from the shared catalog's change feed, which it admits by (-1: none, or no answer).
  int reserved_concurrency(const std::string& function) const {
    auto r = client().Get("/2019-09-30/functions/" + function + "/concurrency");
    if (!r || r->status != 200) return -1;
    const nlohmann::json body = nlohmann::json::parse(r->body, nullptr, false);
    return body.contains("ReservedConcurrentExecutions")
               ? body["ReservedConcurrentExecutions"].get<int>()
               : -1;
  }

  // GET /runtimed/v1/health's body (null when it does not answer 200).
  nlohmann::json health() const {
    auto r = client().Get("/runtimed/v1/health");
    if (!r || r->status != 200) return nullptr;
    return nlohmann::json::parse(r->body, nullptr, false);
  }
  std::string function_log(const std::string& name) const {
    std::ifstream in(state_dir_ / "logs" / name / "current.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  // The port of the daemon's "runtimed: listening on SCHEME://HOST:PORT (…)" line, 0 before it.
  int listening_port() const {
    const std::string log = daemon_log();
    const auto line = log.find("runtimed: listening on ");
    if (line == std::string::npos) return 0;
    const auto end = log.find(" (", line);
    const auto colon = log.rfind(':', end);
    if (end == std::string::npos || colon == std::string::npos || colon < line) return 0;
    return std::atoi(log.substr(colon + 1, end - colon - 1).c_str());
  }
  // The HTTP trigger listener's port (serve --http-listen HOST:0), from its start line; 0 when
  // the daemon has none (it prints the line right after "listening on").
  int http_port() const {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < until) {
      const std::string log = daemon_log();
      const auto line = log.find("runtimed: HTTP triggers on port ");
      if (line != std::string::npos)
        return std::atoi(log.c_str() + line + std::strlen("runtimed: HTTP triggers on port "));
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return 0;
  }
  std::string daemon_log() const {
    std::ifstream in(log_path_);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  int port() const { return port_; }
  bool tls() const { return tls_; }
  void trust(const std::filesystem::path& ca_cert) { trusted_ca_ = ca_cert; }
  pid_t pid() const { return pid_; }
  const std::string& cgroup_parent() const { return cgroup_parent_; }
  const std::filesystem::path& state_dir() const { return state_dir_; }

 private:
  TempDir state_;
  bool tls_ = false;
  std::filesystem::path trusted_ca_;
  std::filesystem::path state_dir_;
  std::string log_path_;
  std::string cgroup_parent_;
  int port_ = 0;
  pid_t pid_ = -1;
  int stop_status_ = 0;  // the wait status of the stop that ended it
};

// What a SIGKILLed daemon left (its environments' cgroups under its parent) is removed by the
// next daemon on its state dir and cgroup parent, as after a crash: one is started there with
// `args` and stopped. Call it while `killed` (which may own the state dir) still exists.
inline void restart_to_clean_up(const DaemonProcess& killed, std::vector<std::string> args) {
  DaemonProcess again(std::move(args), killed.state_dir(), killed.cgroup_parent());
  again.stop();
}

// Nothing of a stopped daemon is left: cgroups, mounts, loop devices.
// VmRSS of a process in KiB, -1 when it is gone.
inline long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
  }
  return -1;
}

inline std::vector<std::string> leftovers(const std::string& cgroup_parent,
                                          const std::filesystem::path& state_dir) {
  std::vector<std::string> found;
  for (const char* c : {"memory", "cpu", "pids", "freezer", "unified"}) {
    std::error_code ec;
    for (auto it =
             std::filesystem::recursive_directory_iterator("/sys/fs/cgroup/" + std::string(c), ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->path().string().find(cgroup_parent) != std::string::npos) found.push_back(it->path());
    }
  }
  std::ifstream mounts("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mounts, line)) {
    if (line.find(state_dir.string()) != std::string::npos) found.push_back(line);
  }
  return found;
}

}  // namespace testsupport
