// Schedules (EventBridge Scheduler's shape, runtimed's routes /runtimed/v1/schedules): kept in
// the state database with their next fire time, and fired by one thread that sleeps until the
// earliest is due. A firing enqueues an asynchronous invocation (AsyncDispatcher: retries, DLQ
// and destinations apply), then stores the schedule's next time after now, so after downtime a
// missed tick fires once, never as a storm. Delivery is at least once, as EventBridge's: a crash
// between the enqueue and the store fires that tick again at the next start.
//
// In cluster mode (serve --cluster) the schedules are the shared database's table, every node's
// routes read and write it, and only the node holding the "scheduler" lease (cluster_lease.hpp)
// fires them: it reloads the table every half second, and stores each tick's next time with a
// compare-and-set in the same transaction as the tick's event, so a tick is enqueued once
// cluster-wide, even across a handover (docs/cluster.md, "Schedules").
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>

#include "api/function_api.hpp"
#include "api/http_types.hpp"
#include "common/lambda_identity.hpp"
#include "common/thread_annotations.hpp"
#include "runtimed/async/async_dispatcher.hpp"
#include "runtimed/store/state_db.hpp"
#include "runtimed/triggers/schedule_clock.hpp"
#include "runtimed/triggers/schedule_expression.hpp"

namespace runtimed {

struct Schedule {
  std::string name;  // account-scoped (common/account_scope.hpp)
  nlohmann::json
      spec;  // ScheduleExpression, ScheduleExpressionTimezone, Target, State, Description
  std::string function;  // account-scoped
  std::string qualifier;
  int64_t created_ms = 0;          // rates count from it
  std::optional<int64_t> next_ms;  // nullopt: never again (a past at(), a finished cron)
  int64_t last_fire_ms = 0;        // 0: never fired
};

class Scheduler {
 public:
  struct Options {
    common::LambdaIdentity identity;
    bool allow_second_rates = false;  // serve --schedule-second-rates
    int64_t time_scale = 1;           // serve --schedule-time-scale (schedule_clock.hpp)
    // Cluster mode: the scheduler's `db` is the shared database, and this node fires the
    // schedules only while it holds the "scheduler" lease under its registration.
    struct ClusterLease {
      std::function<int64_t()> fencing_token;  // the registration in force (0: none)
      std::chrono::milliseconds lease{10000};  // the node lease's length; renewed every third
    };
    std::optional<ClusterLease> cluster;
  };
  Scheduler(Options options, StateDb& db, api::FunctionApi& functions, AsyncDispatcher& dispatcher);
  ~Scheduler();  // stop()
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Loads the schedules and starts the thread.
  std::expected<void, std::string> start();
  // Stops the thread (idempotent); firings in progress finish.
  void stop();

  // The routes (blocking: they write the state database).
  api::HttpResponse put(const api::HttpRequest& request, const std::string& name,
                        const std::string& request_id);
  api::HttpResponse get(const api::HttpRequest& request, const std::string& name,
                        const std::string& request_id);
  api::HttpResponse list(const api::HttpRequest& request, const std::string& request_id);
  api::HttpResponse remove(const api::HttpRequest& request, const std::string& name,
                           const std::string& request_id);

 private:
  bool shared() const { return options_.cluster.has_value(); }
  void run();
  // Enqueues one invocation of `schedule` and stores its next time after `now`.
  void fire(Schedule& schedule, int64_t now_ms) REQUIRES(mu_);
  // The cluster's thread: takes and renews the lease; while holding it, reloads and fires.
  void run_shared();
  // The schedule lease as the cluster's thread knows it.
  struct HeldLease {
    int64_t token = 0;  // the token it is held under (0: not held)
    // When it may have run out, by this node's clock.
    std::chrono::steady_clock::time_point until{};
    std::chrono::steady_clock::time_point next_attempt{};
    bool reported_failure = false;  // one warning while the database does not answer
    bool held_at(std::chrono::steady_clock::time_point t) const { return token != 0 && t < until; }
  };
  // Takes or renews the lease under the node's token: whether it was taken anew.
  bool attempt_lease(HeldLease& lease);
  // One tick under the lease: the event and the next time in one transaction, the next time
  // stored only if the row is still as read (next_ms and spec) and `token` holds the lease.
  // Conflict: another node fired it, it was changed or deleted, or the lease was lost.
  std::expected<void, common::StoreError> fire_shared(const Schedule& schedule, int64_t now_ms,
                                                      int64_t token);
  // The event a firing delivers: the target's Input, else EventBridge's scheduled event.
  std::string event_payload(const Schedule& schedule, int64_t now_ms,
                            const std::string& request_id) const;
  std::expected<std::map<std::string, Schedule>, common::StoreError> read_all();
  std::expected<std::optional<Schedule>, common::StoreError> read_one(const std::string& name);
  std::expected<void, common::StoreError> save(const Schedule& schedule);
  // Cluster mode: the firing thread reloads before its next firing (a route changed a row).
  void request_reload();
  nlohmann::json schedule_json(const Schedule& schedule) const;
  std::string schedule_arn(const std::string& name) const;

  Options options_;
  ScheduleClock clock_;
  StateDb& db_;
  api::FunctionApi& functions_;
  AsyncDispatcher& dispatcher_;
  common::Mutex mu_;
  std::condition_variable_any changed_;
  // Single node: every schedule, as stored. Unused in cluster mode (the table is shared).
  std::map<std::string, Schedule> schedules_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  bool reload_requested_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace runtimed
