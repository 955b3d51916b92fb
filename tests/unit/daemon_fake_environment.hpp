// A fake execution environment for the controller's unit tests: no namespaces, no cgroups, no
// root. Its "runtime" is a thread that speaks the real Runtime API over real loopback HTTP to the
// controller's endpoint, and acts on each event's payload:
//   "sleep:MS"     answers after MS milliseconds (interrupted by kill/terminate),
//   "error"        posts an invocation error,
//   "exit"         takes the event and exits with status 3 without answering,
//   "exit-after"   answers, then exits with status 3 before asking for the next event,
//   "print:TEXT"   writes TEXT to its stdout, then answers,
//   anything else  is echoed back.
#pragma once

#include <httplib.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "runtimed/controller/execution_environment.hpp"

namespace runtimed::testing {

class FakeEnvironment final : public ExecutionEnvironment {
 public:
  struct Counters {
    std::atomic<int> launched{0};
    std::atomic<int> destroyed{0};
    std::atomic<int> freezes{0};
    std::atomic<int> thaws{0};
    std::atomic<int> terminated{0};
    std::atomic<int> killed{0};
  };

  explicit FakeEnvironment(Counters& counters) : counters_(counters) {
    listen_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    (void)::bind(listen_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(listen_.get(), 16);
    socklen_t len = sizeof addr;
    ::getsockname(listen_.get(), reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    exit_notify_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  }

  ~FakeEnvironment() override {
    kill();
    if (runtime_.joinable()) runtime_.join();
    ++counters_.destroyed;
  }

  sandbox::UniqueFd take_runtime_api_fd() override { return std::move(listen_); }

  sandbox::Result<void> launch(const sandbox::LaunchSpec& spec) override {
    stdout_.reset(::dup(spec.stdout_fd));
    env_ = spec.env;
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
    client_->set_read_timeout(std::chrono::seconds(60));
    ++counters_.launched;
    runtime_ = std::thread([this] { run(); });
    return {};
  }
  int exit_notify_fd() const override { return exit_notify_.get(); }
  sandbox::ExitStatus wait_exit() override {
    if (runtime_.joinable()) runtime_.join();
    return sandbox::ExitStatus{.kind = sandbox::ExitStatus::Kind::Exited, .code = exit_code_};
  }
  void terminate() override {
    ++counters_.terminated;
    stop();
  }
  void kill() override {
    ++counters_.killed;
    stop();
  }
  sandbox::Result<void> freeze() override {
    ++counters_.freezes;
    return {};
  }
  sandbox::Result<void> thaw() override {
    ++counters_.thaws;
    return {};
  }
  uint64_t memory_peak_bytes() const override { return 42ull << 20; }

 private:
  void stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (client_) client_->stop();
  }

  // Sleeps up to `ms`; false when stopped meanwhile.
  bool sleep_for(int ms) {
    std::unique_lock lock(mu_);
    return !cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopping_; });
  }

  void run() {
    const std::string base = "/2018-06-01/runtime/invocation/";
    for (;;) {
      {
        std::lock_guard lock(mu_);
        if (stopping_) break;
      }
      auto next = client_->Get(base + "next");
      if (!next || next->status != 200) break;
      const std::string id = next->get_header_value("Lambda-Runtime-Aws-Request-Id");
      const std::string event = next->body;
      if (event == "\"exit\"") break;
      if (event.starts_with("\"sleep:")) {
        if (!sleep_for(std::stoi(event.substr(7)))) break;
      }
      if (event.starts_with("\"print:")) {
        const std::string text = event.substr(7, event.size() - 8);
        (void)!::write(stdout_.get(), text.data(), text.size());
      }
      if (event.starts_with("\"env:")) {
        // "env:NAME": answers the variable's value as the launch gave it ("" when unset).
        const std::string name = event.substr(5, event.size() - 6) + "=";
        std::string value;
        for (const auto& e : env_)
          if (e.starts_with(name)) value = e.substr(name.size());
        client_->Post(base + id + "/response", "\"" + value + "\"", "application/json");
        continue;
      }
      if (event == "\"error\"") {
        client_->Post(base + id + "/error",
                      R"({"errorType":"FakeError","errorMessage":"as asked"})", "application/json");
        continue;
      }
      client_->Post(base + id + "/response", event, "application/json");
      if (event == "\"exit-after\"") break;
    }
    exit_code_ = 3;
    stdout_.reset();
    uint64_t one = 1;
    (void)!::write(exit_notify_.get(), &one, sizeof one);
  }

  Counters& counters_;
  sandbox::UniqueFd listen_;
  uint16_t port_ = 0;
  sandbox::UniqueFd exit_notify_;
  sandbox::UniqueFd stdout_;
  std::vector<std::string> env_;
  std::unique_ptr<httplib::Client> client_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  int exit_code_ = 0;
  std::thread runtime_;
};

class FakeEnvironmentFactory final : public EnvironmentFactory {
 public:
  explicit FakeEnvironmentFactory(std::filesystem::path disk_dir)
      : disk_dir_(std::move(disk_dir)) {}

  sandbox::Result<std::unique_ptr<ExecutionEnvironment>> take(uint64_t, bool) override {
    ++taken;
    return std::make_unique<FakeEnvironment>(counters);
  }
  size_t ready_count() override { return 0; }
  void stop() override { stopped = true; }
  std::filesystem::path disk_dir() const override { return disk_dir_; }

  FakeEnvironment::Counters counters;
  std::atomic<int> taken{0};
  std::atomic<bool> stopped{false};

 private:
  std::filesystem::path disk_dir_;
};

}  // namespace runtimed::testing
