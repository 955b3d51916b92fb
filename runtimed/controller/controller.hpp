// The controller: admits invocations (host concurrency limit, memory budget), places them on warm
// environments or cold-starts new ones, enforces timeouts, notices crashes and OOM kills, writes
// Lambda's START/END/REPORT lines, freezes idle environments and retires stale ones.
#pragma once

#include <atomic>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "api/function_catalog.hpp"
#include "api/http_server.hpp"
#include "api/invoke_api.hpp"
#include "api/runtime_api.hpp"
#include "runtimed/controller/environment_pool.hpp"
#include "runtimed/controller/function_launch.hpp"
#include "runtimed/controller/function_log.hpp"
#include "runtimed/store/disk_budget.hpp"
#include "sandbox/sandbox_host.hpp"

namespace runtimed {

struct ControllerOptions {
  HostIdentity host;
  size_t concurrency_limit = 1000;
  uint64_t memory_budget_mb = 0;  // 0: 80% of min(MemTotal, own memory cgroup limit)
  std::chrono::milliseconds keep_alive{10 * 60 * 1000};
  std::chrono::milliseconds freeze_after{1000};
  std::chrono::milliseconds init_timeout{10 * 1000};
  bool cpu_quota = false;
  size_t prepared_pool = 4;
  std::filesystem::path runtimes_dir;  // managed runtimes' bootstraps
  uint64_t disk_reserve_mb = 1024;     // free disk no environment's /tmp may be promised
};

struct ControllerStats {
  size_t environments = 0;
  size_t busy = 0;
  size_t idle = 0;
  size_t frozen = 0;
  uint64_t memory_used_mb = 0;
  uint64_t memory_budget_mb = 0;
  size_t concurrency_limit = 0;
  size_t prepared = 0;
  uint64_t cold_starts = 0;
  uint64_t warm_starts = 0;
  uint64_t throttles = 0;
  size_t reserved = 0;         // sum of reservations
  size_t unreserved_busy = 0;  // invocations running in the unreserved pool
};

class Controller {
 public:
  using Done = std::function<void(api::InvokeResult)>;

  Controller(ControllerOptions options, sandbox::SandboxHost& sandboxes, api::HttpServer& server,
             api::FunctionCatalog& catalog, FunctionLogs& logs);
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // A synchronous invocation; `done` is called exactly once, from any thread.
  void invoke(api::InvokeRequest request, std::string request_id, Done done);
  // The function was updated or deleted: its environments are retired.
  void function_changed(const std::string& name);
  // SIGTERM: refuse new invocations, let in-flight ones finish (up to `drain`), give runtimes
  // SIGTERM and 2 s, then remove every environment. Idempotent.
  void shutdown(std::chrono::milliseconds drain);
  ControllerStats stats();
  // Reserved concurrency (nullopt: none): the function runs at most `reserved` at once, and the
  // reservation leaves the unreserved pool that every other function shares. 0 turns it off.
  void set_reserved_concurrency(const std::string& name, std::optional<int> reserved);
  std::optional<int> reserved_concurrency(const std::string& name);
  // How many invocations the function may run now (its reservation or the unreserved pool), and
  // how many of them run.
  struct Capacity {
    size_t limit = 0;
    size_t busy = 0;
  };
  Capacity capacity(const std::string& name);
  const ControllerOptions& options() const { return options_; }

  struct Env;
  struct Pending;

 private:
  struct FunctionEntry;

  std::shared_ptr<const FunctionEntry> function_entry(const std::string& name,
                                                      api::ApiError* error);
  void start_cold(std::shared_ptr<Env> env, std::shared_ptr<const FunctionEntry> fn);
  // Admission and placement of one invocation (warm environment, cold start, or 429).
  void admit(std::unique_ptr<Pending> pending, std::shared_ptr<const FunctionEntry> fn);
  void deliver(const std::shared_ptr<Env>& env);
  void on_first_next(uint64_t env_id);
  void on_event_taken(uint64_t env_id, const std::string& request_id);
  void on_outcome(uint64_t env_id, const std::string& request_id, api::InvocationOutcome outcome);
  void on_init_error(uint64_t env_id, api::InvocationOutcome outcome);
  void on_exit(const std::shared_ptr<Env>& env);
  // Ends the environment's current invocation (if any) with a platform error and discards it.
  void fail_and_discard(const std::shared_ptr<Env>& env, const std::string& error_type,
                        const std::string& message, bool kill_first);
  void finish(const std::shared_ptr<Env>& env, std::unique_ptr<Pending> pending,
              api::InvokeResult result);
  // Removes env from every index (lock held); returns true if it was live.
  bool unlink_locked(const std::shared_ptr<Env>& env);
  // The environment's invocation no longer counts against its concurrency (lock held).
  void leave_busy_locked(Env& env);
  size_t unreserved_pool_locked() const;
  void destroy_later(std::shared_ptr<Env> env);
  // Drains the output pipe into the log in whole lines; at the end of an invocation (before END)
  // a held partial line is written too.
  void pump_output(Env& env, bool end_of_invocation = false);
  // Starts the invocation's log lines (and, with `capture`, its X-Amz-Log-Result tail).
  void append_start_line(Env& env, const std::string& line, bool capture);
  void monitor_loop();
  void sweep(std::chrono::steady_clock::time_point now);
  void watch(const std::shared_ptr<Env>& env);
  void unwatch(Env& env);

  ControllerOptions options_;
  sandbox::SandboxHost& sandboxes_;
  api::HttpServer& server_;
  api::FunctionCatalog& catalog_;
  FunctionLogs& logs_;
  DiskBudget disk_budget_{sandboxes_.options().state_dir / "envs", options_.disk_reserve_mb};
  EnvironmentPool pool_;
  boost::asio::thread_pool blocking_{4};  // prepare, launch, destroy: never on io threads

  std::mutex mu_;
  // Shutdown's gate, notified under mu_ when busy_ or envs_ becomes empty or the last pending
  // destroy finishes: shutdown() waits on it instead of polling.
  std::condition_variable settled_;
  size_t destroys_pending_ = 0;  // destroy_later() tasks not yet done
  std::unordered_map<std::string, std::shared_ptr<const FunctionEntry>> functions_;
  uint64_t function_changes_ = 0;  // function_changed() calls, so a stale read is not cached
  std::unordered_map<uint64_t, std::shared_ptr<Env>> envs_;
  // Idle environments per function, most recently used last.
  std::unordered_map<std::string, std::vector<std::shared_ptr<Env>>> idle_;
  uint64_t next_env_id_ = 1;
  size_t busy_ = 0;
  std::unordered_map<std::string, int> reserved_;
  size_t total_reserved_ = 0;
  std::unordered_map<std::string, size_t> busy_reserved_;  // per function with a reservation
  size_t busy_unreserved_ = 0;
  uint64_t memory_used_mb_ = 0;
  uint64_t cold_starts_ = 0, warm_starts_ = 0, throttles_ = 0;
  bool accepting_ = true;

  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::thread monitor_;
};

// 80% of the smaller of MemTotal and this process's memory cgroup limit, in MB.
uint64_t default_memory_budget_mb(std::optional<uint64_t> cgroup_limit_bytes);

}  // namespace runtimed
