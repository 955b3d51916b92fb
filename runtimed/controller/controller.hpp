// The controller: admits invocations (Admission: concurrency, reservations, memory budget), places
// them on warm environments or cold-starts new ones from an EnvironmentFactory, enforces timeouts,
// notices crashes and OOM kills (EnvironmentMonitor), writes Lambda's START/END/REPORT lines
// (InvocationLog), freezes idle environments and retires stale ones.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "api/function_catalog.hpp"
#include "api/http_server.hpp"
#include "api/invoke_api.hpp"
#include "api/runtime_api.hpp"
#include "common/thread_annotations.hpp"
#include "runtimed/controller/admission.hpp"
#include "runtimed/controller/controller_metrics.hpp"
#include "runtimed/controller/environment_monitor.hpp"
#include "runtimed/controller/execution_environment.hpp"
#include "runtimed/controller/function_launch.hpp"
#include "runtimed/controller/function_log.hpp"
#include "runtimed/controller/layer_mounts.hpp"
#include "runtimed/store/disk_budget.hpp"

namespace runtimed {

struct ControllerOptions {
  HostIdentity host;
  size_t concurrency_limit = 1000;
  uint64_t memory_budget_mb = 0;  // 0: 80% of min(MemTotal, own memory cgroup limit)
  std::chrono::milliseconds keep_alive{10 * 60 * 1000};
  std::chrono::milliseconds freeze_after{1000};
  std::chrono::milliseconds init_timeout{10 * 1000};
  bool cpu_quota = false;
  std::filesystem::path runtimes_dir;  // managed runtimes' bootstraps
  // The stems the environment factory keeps, by language (stem_specs): which functions can take
  // one.
  std::map<std::string, sandbox::StemSpec> stems;
  // Where the merged /opt of functions with several layers is mounted (layer_mounts.hpp): the
  // daemon's own (under its state dir), since what is found there at start is unmounted. Empty:
  // a function with several layers cannot run.
  std::filesystem::path layer_mounts_dir;
  uint64_t disk_reserve_mb = 1024;  // free disk no environment's /tmp may be promised
  // Where the controller's metrics go (null: a registry of its own, unexposed), and how many
  // functions get their own label value.
  common::metrics::Registry* metrics = nullptr;
  size_t metrics_function_limit = 100;
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
  size_t stems = 0;  // prestarted runtimes waiting for a function (StemPool)
  uint64_t cold_starts = 0;
  uint64_t warm_starts = 0;
  uint64_t throttles = 0;
  size_t reserved = 0;         // sum of reservations
  size_t unreserved_busy = 0;  // invocations running in the unreserved pool
};

// One version's environments by state (GET /runtimed/v1/environments, the console's list).
struct VersionEnvironments {
  std::string function;
  std::string version;  // "$LATEST" or a published version's number
  size_t starting = 0;  // launching, or running the runtime's init
  size_t busy = 0;
  size_t warm = 0;  // idle and not frozen
  size_t frozen = 0;
};

// Provisioned concurrency of one qualifier as the controller sees it now.
struct ProvisionedState {
  size_t allocated = 0;  // initialized environments kept for it (idle or busy)
  std::string failure;   // why the last one could not be initialized ("" when none failed)
};

class Controller {
 public:
  using Done = std::function<void(api::InvokeResult)>;
  using Capacity = Admission::Capacity;

  Controller(ControllerOptions options, EnvironmentFactory& environments, api::HttpServer& server,
             api::FunctionCatalog& catalog, FunctionLogs& logs);
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // A synchronous invocation; `done` is called exactly once, from any thread.
  void invoke(api::InvokeRequest request, std::string request_id, Done done);
  // A function's $LATEST changed or went (NAME), or a published version went (NAME:VERSION): the
  // environments running it are retired.
  void function_changed(const std::string& qualified_name);
  // Discards the function's idle (warm and frozen) environments, so its next invocation starts
  // cold (`runtimed drain`, the bench's cold mode); busy ones finish. Returns how many went.
  size_t drain(const std::string& name);
  // SIGTERM: refuse new invocations, let in-flight ones finish (up to `drain`), give runtimes
  // SIGTERM and 2 s, then remove every environment; returns when all are gone. Idempotent.
  void shutdown(std::chrono::milliseconds drain);
  ControllerStats stats();
  // Provisioned concurrency (PutProvisionedConcurrencyConfig): keep `requested` environments of
  // NAME:QUALIFIER (a version, or an alias: its version) initialized ahead, never expired, used
  // first, and replaced when one ends; 0 removes it. Applied by the sweep, off the request path.
  void set_provisioned(const std::string& name, const std::string& qualifier, size_t requested);
  ProvisionedState provisioned_state(const std::string& name, const std::string& qualifier);
  // Whether any provisioned concurrency of function NAME is kept.
  bool has_provisioned(const std::string& name);
  // After a change to NAME (a version, alias or the function deleted, an alias moved): keeps the
  // provisioned concurrency of NAME's `configured` qualifiers only (qualifier → requested), and
  // starts again an alias's whose environments run another version than the alias's now.
  void reconcile_provisioned(const std::string& name,
                             const std::map<std::string, size_t>& configured);
  // Every version with a live environment, by function then version.
  std::vector<VersionEnvironments> environments_by_version();
  // Drops every configuration read from the catalog (each is read again at its next call), when
  // changes may have been missed: cluster mode's catalog listener reconnecting. A version deleted
  // meanwhile then answers not found; warm environments stay, as after function_changed().
  void forget_cached_functions();
  // Reserved concurrency (nullopt: none): the function runs at most `reserved` at once, and the
  // reservation leaves the unreserved pool that every other function shares. 0 turns it off.
  void set_reserved_concurrency(const std::string& name, std::optional<int> reserved);
  // The reservation as configured (not this node's share of it).
  std::optional<int> reserved_concurrency(const std::string& name);
  // Cluster mode: this node's share of a function's reservation (docs/cluster.md), which it then
  // admits; without one a node holds the whole reservation. Set before the first invocation.
  using ReservedShare = std::function<int(const std::string& name, int reserved)>;
  void set_reserved_share(ReservedShare share);
  // Recomputes every share (the live nodes changed).
  void reshare_reservations();
  // Each capped account's share of the memory budget, by scope ("" the daemon's own account,
  // common/account_scope.hpp); an account not named shares the whole budget. Replaces the last.
  void set_account_memory_caps(const std::map<std::string, uint64_t>& caps);
  // How many invocations the function may run now (its reservation or the unreserved pool), and
  // how many of them run.
  Capacity capacity(const std::string& name);
  const ControllerOptions& options() const { return options_; }

  struct Env;
  struct Pending;

 private:
  struct FunctionEntry;
  using FunctionEntryPtr = std::shared_ptr<const FunctionEntry>;

  // The version an invocation runs: $LATEST, the version it names, or its alias's choice.
  std::expected<std::string, api::ApiError> resolve_version(const api::InvokeRequest& request);
  // A version's configuration, cached until function_changed (for $LATEST, its current revision),
  // or why it cannot run.
  std::expected<FunctionEntryPtr, api::ApiError> function_entry(const std::string& name,
                                                                const std::string& version);
  // Moves the idle environments of pool `key` to `retired`, unlinked.
  void retire_idle_locked(const std::string& key, std::vector<std::shared_ptr<Env>>& retired)
      REQUIRES(mu_);
  // Admission and placement of one invocation (warm environment, cold start, or 429).
  void admit(std::unique_ptr<Pending> pending, FunctionEntryPtr fn);
  void start_cold(const std::shared_ptr<Env>& env, const FunctionEntryPtr& fn);
  void deliver(const std::shared_ptr<Env>& env);
  // The live environment with this id, or null.
  std::shared_ptr<Env> find_env(uint64_t env_id);
  // Runtime API callbacks, on io threads.
  void on_first_next(uint64_t env_id);
  void on_event_taken(uint64_t env_id, const std::string& request_id);
  void on_outcome(uint64_t env_id, const std::string& request_id, api::InvocationOutcome outcome);
  void on_init_error(uint64_t env_id, api::InvocationOutcome outcome);
  // Monitor callbacks, on the monitor thread.
  void on_output(uint64_t env_id);
  void on_exit(uint64_t env_id);
  void sweep(std::chrono::steady_clock::time_point now);
  // Starts the provisioned environments the targets lack (from the sweep).
  void provision();
  // An environment started ahead becomes idle once initialized and launched.
  void idle_when_ready_locked(const std::shared_ptr<Env>& env) REQUIRES(mu_);
  // Ends the environment's current invocation (if any) with a platform error and discards it.
  void fail_and_discard(const std::shared_ptr<Env>& env, const std::string& error_type,
                        const std::string& message, bool kill_first);
  // Ends the invocation: END and REPORT, its metrics (`outcome`), then `done`.
  void finish(const std::shared_ptr<Env>& env, std::unique_ptr<Pending> pending,
              api::InvokeResult result, std::string_view outcome);
  // Removes env from every index (lock held); returns true if it was live.
  bool unlink_locked(const std::shared_ptr<Env>& env) REQUIRES(mu_);
  // The environment's invocation no longer counts against its concurrency (lock held).
  void leave_busy_locked(Env& env) REQUIRES(mu_);
  // Counts a 429; true when it begins a throttling episode (logged once, with its end, so a
  // flood of refusals is two log lines).
  bool note_throttle_locked(std::string_view reason) REQUIRES(mu_);
  void destroy_later(std::shared_ptr<Env> env);
  void watch(const std::shared_ptr<Env>& env);
  void unwatch(Env& env);

  ControllerOptions options_;
  EnvironmentFactory& environments_;
  api::HttpServer& server_;
  api::FunctionCatalog& catalog_;
  FunctionLogs& logs_;
  DiskBudget disk_budget_;
  LayerMounts layer_mounts_;
  common::metrics::Registry own_metrics_;  // when options_.metrics is null
  ControllerMetrics metrics_;

  // Guards the placement state below and every Env's fields marked so in controller.cpp.
  common::Mutex mu_;
  // Shutdown waits on it: no invocation busy, no environment left, no destroy in flight.
  std::condition_variable_any drained_;
  Admission admission_ GUARDED_BY(mu_);
  ReservedShare reserved_share_ GUARDED_BY(mu_);
  // Reservations as configured (admission_ holds this node's share of each), under a leaf lock of
  // their own: cluster mode's routing reads one for every call, and must not wait on mu_.
  mutable common::Mutex reserved_mu_;  // a leaf: taken under mu_, never the reverse
  std::unordered_map<std::string, int> reserved_ GUARDED_BY(reserved_mu_);
  std::map<std::string, uint64_t> account_caps_ GUARDED_BY(mu_);  // set_account_memory_caps
  std::unordered_map<std::string, FunctionEntryPtr> functions_ GUARDED_BY(mu_);
  // function_changed() calls, so a stale read is not cached
  uint64_t function_changes_ GUARDED_BY(mu_) = 0;
  // Configurations being read from the catalog now: a second caller waits for the first's read
  // (function_loaded_) instead of reading too, so a change read ahead is read once, and in
  // cluster mode a burst of calls after a change costs one database read, not one each.
  std::unordered_set<std::string> functions_loading_ GUARDED_BY(mu_);
  std::condition_variable_any function_loaded_;
  std::unordered_map<uint64_t, std::shared_ptr<Env>> envs_ GUARDED_BY(mu_);
  // Idle environments per function, most recently used last.
  std::unordered_map<std::string, std::vector<std::shared_ptr<Env>>> idle_ GUARDED_BY(mu_);
  uint64_t next_env_id_ GUARDED_BY(mu_) = 1;
  uint64_t cold_starts_ GUARDED_BY(mu_) = 0;
  uint64_t warm_starts_ GUARDED_BY(mu_) = 0;
  uint64_t throttles_ GUARDED_BY(mu_) = 0;
  // Provisioned concurrency by "NAME:QUALIFIER".
  struct ProvisionedTarget {
    std::string name;
    std::string qualifier;
    size_t requested = 0;
    std::string failure;  // set when an environment failed its init: no more attempts
  };
  std::map<std::string, ProvisionedTarget> provisioned_ GUARDED_BY(mu_);
  // Unlinked environments whose destroy has not finished.
  size_t awaiting_destroy_ GUARDED_BY(mu_) = 0;
  bool accepting_ GUARDED_BY(mu_) = true;
  // The current throttling episode: it ends after kThrottleQuiet without a 429.
  struct ThrottleEpisode {
    bool active = false;
    std::chrono::steady_clock::time_point started, last;
    uint64_t refused = 0;
    std::string reason;  // of the first refusal
  };
  static constexpr std::chrono::seconds kThrottleQuiet{5};
  ThrottleEpisode throttling_ GUARDED_BY(mu_);

  // Last: its tasks and callbacks use everything above, so they stop first.
  boost::asio::thread_pool blocking_{4};  // launch and destroy: never on io threads
  EnvironmentMonitor monitor_;
};

// 80% of the smaller of MemTotal and this process's memory cgroup limit, in MB.
uint64_t default_memory_budget_mb(std::optional<uint64_t> cgroup_limit_bytes);

}  // namespace runtimed
