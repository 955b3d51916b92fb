// The controller (see controller.hpp). Threads: HTTP io threads call invoke() and the Runtime API
// callbacks; a blocking pool runs prepare/launch/destroy; one monitor thread watches exits and
// function output (epoll) and sweeps timeouts, freezing and keep-alive every 10 ms.
#include "runtimed/controller/controller.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cmath>
#include <fstream>

#include "common/function_error_types.hpp"
#include "common/ids.hpp"
#include "common/module_logger.hpp"
#include "sandbox/cgroup.hpp"

namespace runtimed {

using Clock = std::chrono::steady_clock;

namespace {

std::shared_ptr<spdlog::logger> log() {
  static auto logger = common::module_logger("scheduler");
  return logger;
}

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

std::string format_ms(double ms) { return fmt::format("{:.2f}", ms); }

}  // namespace

uint64_t default_memory_budget_mb(std::optional<uint64_t> cgroup_limit_bytes) {
  uint64_t total_kb = 0;
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  while (meminfo >> key) {
    if (key == "MemTotal:") {
      meminfo >> total_kb;
      break;
    }
    meminfo.ignore(1 << 10, '\n');
  }
  uint64_t limit = total_kb * 1024;
  if (cgroup_limit_bytes && *cgroup_limit_bytes > 0 && *cgroup_limit_bytes < limit)
    limit = *cgroup_limit_bytes;
  return limit / (1024 * 1024) * 8 / 10;
}

struct Controller::FunctionEntry {
  common::FunctionConfig config;
  std::filesystem::path code_dir;
  std::shared_ptr<void> code_hold;  // environments of this entry keep its code on disk
  std::string arn;
};

struct Controller::Pending {
  api::InvokeRequest request;
  std::string request_id;
  Clock::time_point start;
  Clock::time_point deadline;
  Done done;
  // Delivered to a warm environment when its runtime had handed out this many events: if the
  // runtime exits before taking it, the invocation never started and goes to a fresh one.
  std::optional<uint64_t> warm_handed_before;
};

struct Controller::Env {
  enum class State { Starting, Idle, Busy, Dead };
  uint64_t id = 0;
  std::shared_ptr<const FunctionEntry> fn;
  std::shared_ptr<FunctionLog> log;
  size_t thread_index = 0;
  std::unique_ptr<sandbox::Environment> sandbox;
  std::unique_ptr<api::RuntimeApiEndpoint> endpoint;
  sandbox::UniqueFd output_read;  // the runtime's stdout and stderr
  int control_fd = -1;            // readable when the runtime ends
  bool watched = false;

  // Guarded by the controller's mutex.
  State state = State::Starting;
  bool initialized = false;
  Clock::time_point launch_started;
  Clock::time_point idle_since;
  std::optional<double> init_duration_ms;  // reported with the first invocation only
  std::unique_ptr<Pending> pending;
  bool reserved_slot = false;  // counted against its function's reservation, not the pool

  bool launched = false;  // guarded by the controller's mutex: sandbox and endpoint are set

  // Serializes every use of `sandbox` after launch (freeze, thaw, exit, memory reads) with its
  // destruction, which happens on the blocking pool.
  std::mutex life_mu;
  std::atomic<bool> frozen{false};
  std::mutex output_mu;  // one reader of the output pipe at a time keeps lines in order
  // The current invocation's log lines (for X-Amz-Log-Result), guarded by output_mu. Kept on the
  // environment, not the invocation, so text read by the monitor just as the invocation ends is
  // not lost.
  std::string invocation_output;
  bool capture_output = false;
  LineFramer output_lines;      // guarded by output_mu: the log gets whole lines only
  DiskBudget::Lease tmp_lease;  // its /tmp's share of the disk; given back when unlinked
};

Controller::Controller(ControllerOptions options, sandbox::SandboxHost& sandboxes,
                       api::HttpServer& server, api::FunctionCatalog& catalog, FunctionLogs& logs)
    : options_(std::move(options)),
      sandboxes_(sandboxes),
      server_(server),
      catalog_(catalog),
      logs_(logs),
      pool_(sandboxes, options_.prepared_pool, common::kDefaultEphemeralStorageMb) {
  if (options_.memory_budget_mb == 0) {
    auto host = sandbox::CgroupHost::detect();
    options_.memory_budget_mb =
        default_memory_budget_mb(host ? host->memory_limit_bytes() : std::nullopt);
  }
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = 0;  // env ids start at 1
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  monitor_ = std::thread([this] { monitor_loop(); });
}

Controller::~Controller() {
  shutdown(std::chrono::milliseconds(0));
  stopping_ = true;
  uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
  if (monitor_.joinable()) monitor_.join();
  blocking_.join();
  ::close(epoll_fd_);
  ::close(wake_fd_);
}

std::shared_ptr<const Controller::FunctionEntry> Controller::function_entry(const std::string& name,
                                                                            api::ApiError* error) {
  for (;;) {
    uint64_t changes_seen;
    {
      std::lock_guard lock(mu_);
      auto it = functions_.find(name);
      if (it != functions_.end()) return it->second;
      changes_seen = function_changes_;
    }
    auto config = catalog_.get(name);
    if (!config) {
      *error = config.error();
      if (error->type == api::ApiErrorType::ResourceNotFound) {
        error->message = common::function_not_found_message(function_arn(options_.host, name));
      }
      return nullptr;
    }
    auto entry = std::make_shared<FunctionEntry>();
    entry->config = std::move(*config);
    entry->code_dir = catalog_.code_dir(entry->config);
    entry->code_hold = catalog_.hold_code(entry->config);
    entry->arn = function_arn(options_.host, name);
    std::lock_guard lock(mu_);
    // A change that landed while we read may have been erased before we insert: read again
    // rather than cache what may already be stale.
    if (function_changes_ != changes_seen) continue;
    return functions_.emplace(name, std::move(entry)).first->second;
  }
}

void Controller::invoke(api::InvokeRequest request, std::string request_id, Done done) {
  api::ApiError error{api::ApiErrorType::Service, ""};
  auto fn = function_entry(request.function_name, &error);
  if (!fn) {
    done(api::InvokeResult{.api_error = error});
    return;
  }
  auto pending = std::make_unique<Pending>();
  pending->request = std::move(request);
  pending->request_id = std::move(request_id);
  pending->done = std::move(done);
  admit(std::move(pending), std::move(fn));
}

void Controller::admit(std::unique_ptr<Pending> pending, std::shared_ptr<const FunctionEntry> fn) {
  const long thread = server_.current_thread_index();
  std::shared_ptr<Env> env;
  std::vector<std::shared_ptr<Env>> evicted;
  bool cold = false;
  {
    std::unique_lock lock(mu_);
    if (!accepting_) {
      lock.unlock();
      pending->done(
          api::InvokeResult{.api_error = api::ApiError::service("The daemon is shutting down")});
      return;
    }
    // Refused at once, never queued: a reserved function is held to its reservation, the
    // others share what the reservations leave.
    const auto reservation = reserved_.find(fn->config.name);
    const bool reserved_slot = reservation != reserved_.end();
    const bool over =
        reserved_slot
            ? busy_reserved_[fn->config.name] >= static_cast<size_t>(reservation->second)
            : busy_unreserved_ >= unreserved_pool_locked() || busy_ >= options_.concurrency_limit;
    if (over) {
      ++throttles_;
      lock.unlock();
      pending->done(api::InvokeResult{
          .api_error = api::ApiError::too_many_requests(
              "Rate Exceeded.", reserved_slot ? "ReservedFunctionConcurrentInvocationLimitExceeded"
                                              : "ConcurrentInvocationLimitExceeded")});
      return;
    }
    // A warm environment of this function's current revision, preferably served by this io thread.
    auto& idle = idle_[fn->config.name];
    for (auto it = idle.rbegin(); it != idle.rend(); ++it) {
      if ((*it)->fn != fn) continue;
      if (!env || static_cast<long>((*it)->thread_index) == thread) {
        env = *it;
        if (static_cast<long>(env->thread_index) == thread) break;
      }
    }
    if (env) {
      idle.erase(std::find(idle.begin(), idle.end(), env));
      ++warm_starts_;
    } else {
      // A cold start needs room in the memory budget and on disk for its /tmp (disk_budget.hpp):
      // evict idle environments, oldest first.
      const uint64_t need = static_cast<uint64_t>(fn->config.memory_mb);
      std::optional<DiskBudget::Lease> tmp_lease;
      const auto fits = [&] {
        return memory_used_mb_ + need <= options_.memory_budget_mb &&
               (tmp_lease || (tmp_lease = disk_budget_.reserve(
                                  static_cast<uint64_t>(fn->config.ephemeral_storage_mb))));
      };
      while (!fits()) {
        std::shared_ptr<Env> oldest;
        for (auto& [name, list] : idle_) {
          for (auto& candidate : list) {
            if (!oldest || candidate->idle_since < oldest->idle_since) oldest = candidate;
          }
        }
        if (!oldest) break;
        unlink_locked(oldest);
        evicted.push_back(std::move(oldest));
      }
      if (!fits()) {
        const bool memory_full = memory_used_mb_ + need > options_.memory_budget_mb;
        ++throttles_;
        lock.unlock();
        for (auto& e : evicted) destroy_later(std::move(e));
        pending->done(api::InvokeResult{
            .api_error = memory_full ? api::ApiError::too_many_requests(
                                           "Rate Exceeded.", "ConcurrentInvocationLimitExceeded")
                                     : disk_full_error()});
        return;
      }
      env = std::make_shared<Env>();
      env->id = next_env_id_++;
      env->fn = fn;
      env->log = logs_.get(fn->config.name);
      env->thread_index =
          thread >= 0 ? static_cast<size_t>(thread) : env->id % server_.thread_count();
      memory_used_mb_ += need;
      env->tmp_lease = std::move(*tmp_lease);
      envs_.emplace(env->id, env);
      ++cold_starts_;
      cold = true;
    }
    env->state = Env::State::Busy;
    ++busy_;
    env->reserved_slot = reserved_slot;
    if (reserved_slot)
      ++busy_reserved_[fn->config.name];
    else
      ++busy_unreserved_;
    env->pending = std::move(pending);
    if (!cold) {
      // Recorded with the admission, under the same lock: the runtime may exit before deliver()
      // runs, and on_exit must then still see that this invocation was never taken.
      env->pending->warm_handed_before = env->endpoint->events_handed_out();
      env->pending->start = Clock::now();
      env->pending->deadline = env->pending->start + std::chrono::seconds(fn->config.timeout_s);
    }
  }
  for (auto& e : evicted) destroy_later(std::move(e));
  if (cold) {
    boost::asio::post(blocking_, [this, env, fn] {
      // An exception escaping a pool task would terminate the daemon: fail this invocation.
      try {
        start_cold(env, fn);
      } catch (const std::exception& e) {
        log()->error("cold start of {}: {}", fn->config.name, e.what());
        fail_and_discard(env, function_error::kRuntimeUnknown,
                         std::string("Internal error: ") + e.what(), true);
      }
    });
    return;
  }
  {
    // Under life_mu: a sweep that saw this environment idle may be freezing it right now.
    std::lock_guard life(env->life_mu);
    if (env->frozen && env->sandbox) {
      if (auto r = env->sandbox->thaw(); !r)
        log()->warn("thaw {}: {}", env->id, r.error().to_string());
      env->frozen = false;
    }
  }
  deliver(env);
}

void Controller::deliver(const std::shared_ptr<Env>& env) {
  api::InvocationEvent event;
  {
    std::lock_guard lock(mu_);
    if (!env->pending || env->state == Env::State::Dead) return;
    const Pending& p = *env->pending;
    event.request_id = p.request_id;
    event.invoked_function_arn = env->fn->arn;
    event.trace_id = p.request.trace_id;
    event.client_context = p.request.client_context;
    event.payload = p.request.payload;
    // The deadline the runtime sees; for a cold start it is fixed again when init ends.
    const auto remaining =
        std::chrono::duration_cast<std::chrono::milliseconds>(p.deadline - Clock::now());
    event.deadline_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count() +
                        (env->initialized ? remaining.count()
                                          : static_cast<int64_t>(env->fn->config.timeout_s) * 1000);
  }
  // The START line is written when the runtime takes the event (on_event_taken): an event
  // delivered to a runtime that exits first never started, and runs again on a fresh environment.
  env->endpoint->deliver(std::move(event));
}

void Controller::start_cold(std::shared_ptr<Env> env, std::shared_ptr<const FunctionEntry> fn) {
  std::string why;
  auto entry = find_entrypoint(fn->config, fn->code_dir, options_.runtimes_dir, &why);
  if (!entry) {
    fail_and_discard(env, function_error::kRuntimeInvalidEntrypoint, why, false);
    return;
  }
  auto prepared = pool_.take(static_cast<uint64_t>(fn->config.ephemeral_storage_mb));
  if (!prepared) {
    log()->error("prepare environment: {}", prepared.error().to_string());
    fail_and_discard(env, function_error::kRuntimeUnknown,
                     "Failed to prepare an execution environment: " + prepared.error().to_string(),
                     false);
    return;
  }
  // Held until the environment is fully set up: a runtime that posts an init error (or dies) at
  // once makes another thread retire this environment, and its destruction must wait for us.
  std::unique_lock life(env->life_mu);
  env->sandbox = std::move(*prepared);
  int out[2];
  // Only the daemon's read end is non-blocking: a runtime writing faster than the monitor drains
  // must block, as on a terminal, not see EAGAIN and drop output.
  if (::pipe2(out, O_CLOEXEC) != 0 || ::fcntl(out[0], F_SETFL, O_NONBLOCK) != 0) {
    life.unlock();
    fail_and_discard(env, function_error::kRuntimeUnknown, "pipe failed", false);
    return;
  }
  env->output_read.reset(out[0]);
  sandbox::UniqueFd output_write(out[1]);
  ::fcntl(out[0], F_SETPIPE_SZ, 1 << 20);
  // The runtime rarely blocks on its stdout: the write end blocks only when 1 MiB is unread, and
  // the monitor drains it as soon as data arrives.
  auto spec = launch_spec_for(fn->config, fn->code_dir, *entry, options_.host,
                              new_log_stream_name(), options_.cpu_quota);
  spec.stdout_fd = output_write.get();
  spec.stderr_fd = output_write.get();
  const uint64_t id = env->id;
  api::RuntimeApiCallbacks callbacks;
  callbacks.on_first_next = [this, id] { on_first_next(id); };
  callbacks.on_event_taken = [this, id](const std::string& rid) { on_event_taken(id, rid); };
  callbacks.on_outcome = [this, id](const std::string& rid, api::InvocationOutcome o) {
    on_outcome(id, rid, std::move(o));
  };
  callbacks.on_init_error = [this, id](api::InvocationOutcome o) {
    on_init_error(id, std::move(o));
  };
  auto endpoint =
      api::RuntimeApiEndpoint::create(server_, env->sandbox->take_runtime_api_fd().release(),
                                      env->thread_index, std::move(callbacks));
  if (!endpoint) {
    life.unlock();
    fail_and_discard(env, function_error::kRuntimeUnknown, "Runtime API: " + endpoint.error(),
                     false);
    return;
  }
  env->endpoint = std::move(*endpoint);
  {
    // Set before launch: the runtime's first /next may arrive before launch() returns.
    std::lock_guard lock(mu_);
    env->launch_started = Clock::now();
  }
  auto launched = env->sandbox->launch(spec);
  output_write.reset();
  if (!launched) {
    // The runtime could not be started: a missing interpreter or a bad bootstrap is the
    // function's problem, reported as Lambda reports an unusable entry point.
    std::string request_id;
    {
      std::lock_guard lock(mu_);
      if (env->pending) request_id = env->pending->request_id;
    }
    life.unlock();
    fail_and_discard(env, function_error::kRuntimeInvalidEntrypoint,
                     "RequestId: " + request_id + " Error: fork/exec " + spec.argv[0] + ": " +
                         launched.error().to_string(),
                     false);
    return;
  }
  env->control_fd = env->sandbox->exit_notify_fd();
  {
    std::lock_guard lock(mu_);
    if (env->state == Env::State::Dead) return;  // retired meanwhile (init error); being destroyed
    env->launched = true;
  }
  watch(env);
  deliver(env);
}

void Controller::on_first_next(uint64_t env_id) {
  std::lock_guard lock(mu_);
  auto it = envs_.find(env_id);
  if (it == envs_.end()) return;
  Env& env = *it->second;
  if (env.initialized) return;
  env.initialized = true;
  const auto now = Clock::now();
  env.init_duration_ms = ms_between(env.launch_started, now);
  if (env.pending) {
    env.pending->start = now;
    env.pending->deadline = now + std::chrono::seconds(env.fn->config.timeout_s);
  }
}

void Controller::on_event_taken(uint64_t env_id, const std::string& request_id) {
  std::shared_ptr<Env> env;
  bool capture = false;
  {
    std::lock_guard lock(mu_);
    auto it = envs_.find(env_id);
    if (it == envs_.end()) return;
    env = it->second;
    if (!env->pending || env->pending->request_id != request_id) return;
    capture = env->pending->request.tail_log;
  }
  // What the runtime printed before this event (at init, or after its previous answer) goes to
  // the log ahead of the START line.
  pump_output(*env);
  append_start_line(*env, "START RequestId: " + request_id + " Version: $LATEST\n", capture);
}

void Controller::on_outcome(uint64_t env_id, const std::string& request_id,
                            api::InvocationOutcome outcome) {
  std::shared_ptr<Env> env;
  std::unique_ptr<Pending> pending;
  {
    std::lock_guard lock(mu_);
    auto it = envs_.find(env_id);
    if (it == envs_.end()) return;
    env = it->second;
    if (!env->pending || env->pending->request_id != request_id || env->state != Env::State::Busy) {
      return;
    }
    pending = std::move(env->pending);
    env->idle_since = Clock::now();
    if (functions_.count(env->fn->config.name) && functions_[env->fn->config.name] == env->fn) {
      leave_busy_locked(*env);
      env->state = Env::State::Idle;
      idle_[env->fn->config.name].push_back(env);
    } else {
      // The function changed while this invocation ran: this environment runs stale code.
      // (unlink_locked leaves the busy count too: once, not twice.)
      unlink_locked(env);
    }
  }
  api::InvokeResult result;
  switch (outcome.kind) {
    case api::InvocationOutcome::Kind::Response:
      result.payload = std::move(outcome.body);
      if (!outcome.content_type.empty()) result.content_type = outcome.content_type;
      break;
    case api::InvocationOutcome::Kind::FunctionError:
      result.function_error = true;
      result.payload = std::move(outcome.body);
      break;
    case api::InvocationOutcome::Kind::ResponseTooLarge:
      result.function_error = true;
      result.payload = api::platform_error_payload(
          function_error::kFunctionResponseSizeTooLarge,
          "Response payload size exceeded maximum allowed payload size (6291556 bytes).");
      break;
  }
  finish(env, std::move(pending), std::move(result));
  if (env->state == Env::State::Dead) destroy_later(env);
}

void Controller::on_init_error(uint64_t env_id, api::InvocationOutcome outcome) {
  std::shared_ptr<Env> env;
  std::unique_ptr<Pending> pending;
  {
    std::lock_guard lock(mu_);
    auto it = envs_.find(env_id);
    if (it == envs_.end()) return;
    env = it->second;
    if (!unlink_locked(env)) return;
    pending = std::move(env->pending);
  }
  if (pending) {
    api::InvokeResult result;
    result.function_error = true;
    result.payload = std::move(outcome.body);
    finish(env, std::move(pending), std::move(result));
  }
  destroy_later(env);
}

void Controller::on_exit(const std::shared_ptr<Env>& env) {
  sandbox::ExitStatus status;
  {
    std::lock_guard life(env->life_mu);
    if (!env->sandbox) return;
    status = env->sandbox->wait_exit();
  }
  std::unique_ptr<Pending> pending;
  {
    std::lock_guard lock(mu_);
    if (!unlink_locked(env)) return;  // already retired (timeout, update, shutdown)
    pending = std::move(env->pending);
  }
  if (pending && pending->warm_handed_before && env->endpoint &&
      env->endpoint->events_handed_out() == *pending->warm_handed_before) {
    // The runtime exited between invocations (after an unhandled error, say) before it took
    // this one: as on Lambda, the invocation runs on a fresh environment instead of failing.
    api::ApiError error{api::ApiErrorType::Service, ""};
    const std::string name = pending->request.function_name;
    if (auto fn = function_entry(name, &error)) {
      pending->start = {};
      pending->warm_handed_before.reset();
      admit(std::move(pending), std::move(fn));
    } else {
      pending->done(api::InvokeResult{.api_error = error});
    }
    destroy_later(env);
    return;
  }
  if (pending) {
    const bool oom = status.kind == sandbox::ExitStatus::Kind::OutOfMemory;
    const std::string detail = oom ? "signal: killed" : status.describe();
    const std::string message =
        "RequestId: " + pending->request_id + " Error: Runtime exited" +
        (status.kind == sandbox::ExitStatus::Kind::Exited ? " with error: " : " with error: ") +
        detail;
    api::InvokeResult result;
    result.function_error = true;
    result.payload = api::platform_error_payload(
        oom ? function_error::kRuntimeOutOfMemory : function_error::kRuntimeExitError, message);
    env->log->append(message + "\n");
    finish(env, std::move(pending), std::move(result));
  }
  destroy_later(env);
}

void Controller::fail_and_discard(const std::shared_ptr<Env>& env, const std::string& error_type,
                                  const std::string& message, bool kill_first) {
  if (kill_first) {
    std::lock_guard life(env->life_mu);
    if (env->sandbox) env->sandbox->kill();
  }
  std::unique_ptr<Pending> pending;
  {
    std::lock_guard lock(mu_);
    if (!unlink_locked(env)) return;
    pending = std::move(env->pending);
  }
  if (pending) {
    api::InvokeResult result;
    result.function_error = true;
    result.payload = api::platform_error_payload(error_type, message);
    if (env->log) env->log->append(message + "\n");
    finish(env, std::move(pending), std::move(result));
  }
  destroy_later(env);
}

bool Controller::unlink_locked(const std::shared_ptr<Env>& env) {
  if (env->state == Env::State::Dead || !envs_.count(env->id)) return false;
  if (env->state == Env::State::Busy) leave_busy_locked(*env);
  if (env->state == Env::State::Idle) {
    auto& list = idle_[env->fn->config.name];
    list.erase(std::remove(list.begin(), list.end(), env), list.end());
  }
  env->state = Env::State::Dead;
  memory_used_mb_ -= static_cast<uint64_t>(env->fn->config.memory_mb);
  env->tmp_lease.release();
  envs_.erase(env->id);
  if (envs_.empty()) settled_.notify_all();
  return true;
}

void Controller::leave_busy_locked(Env& env) {
  if (--busy_ == 0) settled_.notify_all();
  if (env.reserved_slot) {
    auto it = busy_reserved_.find(env.fn->config.name);
    if (it != busy_reserved_.end() && it->second > 0) --it->second;
  } else {
    --busy_unreserved_;
  }
  env.reserved_slot = false;
}

size_t Controller::unreserved_pool_locked() const {
  return options_.concurrency_limit > total_reserved_ ? options_.concurrency_limit - total_reserved_
                                                      : 0;
}

void Controller::set_reserved_concurrency(const std::string& name, std::optional<int> reserved) {
  std::lock_guard lock(mu_);
  if (auto it = reserved_.find(name); it != reserved_.end()) {
    total_reserved_ -= static_cast<size_t>(it->second);
    reserved_.erase(it);
  }
  if (reserved) {
    reserved_[name] = *reserved;
    total_reserved_ += static_cast<size_t>(*reserved);
  }
}

std::optional<int> Controller::reserved_concurrency(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = reserved_.find(name);
  if (it == reserved_.end()) return std::nullopt;
  return it->second;
}

Controller::Capacity Controller::capacity(const std::string& name) {
  std::lock_guard lock(mu_);
  if (auto it = reserved_.find(name); it != reserved_.end()) {
    auto busy = busy_reserved_.find(name);
    return {static_cast<size_t>(it->second), busy == busy_reserved_.end() ? 0 : busy->second};
  }
  return {unreserved_pool_locked(), busy_unreserved_};
}

void Controller::finish(const std::shared_ptr<Env>& env, std::unique_ptr<Pending> pending,
                        api::InvokeResult result) {
  pump_output(*env, /*end_of_invocation=*/true);
  const auto now = Clock::now();
  const bool started = pending->start != Clock::time_point{};
  const double duration = started ? ms_between(pending->start, now) : 0.0;
  uint64_t max_memory_mb = 0;
  {
    std::lock_guard life(env->life_mu);
    if (env->sandbox) {
      max_memory_mb = (env->sandbox->cgroup().memory_peak_bytes() + (1 << 20) - 1) >> 20;
    }
  }
  std::string report =
      "END RequestId: " + pending->request_id + "\nREPORT RequestId: " + pending->request_id +
      "\tDuration: " + format_ms(duration) +
      " ms\tBilled Duration: " + std::to_string(static_cast<uint64_t>(std::ceil(duration))) +
      " ms\tMemory Size: " + std::to_string(env->fn->config.memory_mb) +
      " MB\tMax Memory Used: " + std::to_string(max_memory_mb) + " MB\t";
  {
    std::lock_guard lock(mu_);
    if (env->init_duration_ms) {
      report += "Init Duration: " + format_ms(*env->init_duration_ms) + " ms\t";
      env->init_duration_ms.reset();
    }
  }
  report += "\n";
  env->log->append(report);
  {
    std::lock_guard out(env->output_mu);
    if (pending->request.tail_log) result.log_tail = std::move(env->invocation_output) + report;
    env->invocation_output.clear();
    env->capture_output = false;
  }
  pending->done(std::move(result));
}

void Controller::append_start_line(Env& env, const std::string& line, bool capture) {
  std::lock_guard out(env.output_mu);
  // A line left unfinished before this invocation (init, a background thread) ends before START.
  env.log->append(env.output_lines.flush() + line);
  env.capture_output = capture;
  env.invocation_output = capture ? line : std::string();
}

void Controller::pump_output(Env& env, bool end_of_invocation) {
  if (!env.output_read) return;
  std::lock_guard out(env.output_mu);
  auto write = [&env](const std::string& lines) {
    if (lines.empty()) return;
    env.log->append(lines);
    if (env.capture_output) {
      env.invocation_output.append(lines);
      if (env.invocation_output.size() > 2 * api::kLogTailBytes) {
        env.invocation_output.erase(0, env.invocation_output.size() - api::kLogTailBytes);
      }
    }
  };
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(env.output_read.get(), buf, sizeof buf);
    if (n == 0) write(env.output_lines.flush());  // every writer is gone: nothing completes it
    if (n <= 0) break;
    write(env.output_lines.feed(std::string_view(buf, static_cast<size_t>(n))));
  }
  if (end_of_invocation) write(env.output_lines.flush());
}

void Controller::destroy_later(std::shared_ptr<Env> env) {
  unwatch(*env);
  {
    std::lock_guard lock(mu_);
    ++destroys_pending_;
  }
  boost::asio::post(blocking_, [this, env = std::move(env)]() mutable {
    if (env->endpoint) env->endpoint->close();
    {
      std::lock_guard life(env->life_mu);
      env->endpoint.reset();
      env->sandbox.reset();  // kill, reap, remove cgroup, unmount /tmp, remove the directory
    }
    std::lock_guard lock(mu_);
    if (--destroys_pending_ == 0) settled_.notify_all();
  });
}

void Controller::watch(const std::shared_ptr<Env>& env) {
  std::lock_guard lock(mu_);
  if (env->state == Env::State::Dead) return;
  epoll_event ev{};
  ev.events = EPOLLIN;
  // Even ids: exit notifications; odd: output. Both map back through envs_.
  ev.data.u64 = env->id << 1;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, env->control_fd, &ev);
  ev.data.u64 = (env->id << 1) | 1;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, env->output_read.get(), &ev);
  env->watched = true;
}

void Controller::unwatch(Env& env) {
  std::lock_guard lock(mu_);
  if (!env.watched) return;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, env.control_fd, nullptr);
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, env.output_read.get(), nullptr);
  env.watched = false;
}

void Controller::monitor_loop() {
  epoll_event events[64];
  auto next_sweep = Clock::now();
  while (!stopping_) {
    const int n = ::epoll_wait(epoll_fd_, events, 64, 10);
    for (int i = 0; i < n; ++i) {
      const uint64_t key = events[i].data.u64;
      if (key == 0) {
        uint64_t drained;
        (void)!::read(wake_fd_, &drained, sizeof drained);
        continue;
      }
      std::shared_ptr<Env> env;
      {
        std::lock_guard lock(mu_);
        auto it = envs_.find(key >> 1);
        if (it != envs_.end()) env = it->second;
      }
      if (!env) continue;
      if (key & 1) {
        pump_output(*env);
      } else {
        unwatch(*env);
        pump_output(*env);
        on_exit(env);
      }
    }
    const auto now = Clock::now();
    if (now >= next_sweep) {
      sweep(now);
      next_sweep = now + std::chrono::milliseconds(10);
    }
  }
}

void Controller::sweep(Clock::time_point now) {
  std::vector<std::shared_ptr<Env>> timed_out, init_timed_out, to_freeze, expired;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, env] : envs_) {
      if (env->state == Env::State::Busy && env->pending) {
        if (!env->initialized && env->launched &&
            now - env->launch_started > options_.init_timeout) {
          init_timed_out.push_back(env);
        } else if (env->initialized && now > env->pending->deadline) {
          timed_out.push_back(env);
        }
      } else if (env->state == Env::State::Idle) {
        if (now - env->idle_since > options_.keep_alive) {
          expired.push_back(env);
        } else if (!env->frozen && now - env->idle_since > options_.freeze_after) {
          to_freeze.push_back(env);
        }
      }
    }
    for (auto& env : expired) unlink_locked(env);
  }
  for (auto& env : timed_out) {
    std::string rid;
    {
      std::lock_guard lock(mu_);
      if (env->pending) rid = env->pending->request_id;
    }
    fail_and_discard(env, function_error::kSandboxTimedout,
                     "RequestId: " + rid + " Error: Task timed out after " +
                         fmt::format("{:.2f}", static_cast<double>(env->fn->config.timeout_s)) +
                         " seconds",
                     true);
  }
  for (auto& env : init_timed_out) {
    std::string rid;
    {
      std::lock_guard lock(mu_);
      if (env->pending) rid = env->pending->request_id;
    }
    fail_and_discard(
        env, function_error::kSandboxTimedout,
        "RequestId: " + rid + " Error: Init timed out after " +
            fmt::format("{:.2f}", std::chrono::duration<double>(options_.init_timeout).count()) +
            " seconds",
        true);
  }
  for (auto& env : expired) destroy_later(env);
  for (auto& env : to_freeze) {
    std::lock_guard life(env->life_mu);
    {
      std::lock_guard lock(mu_);
      if (env->state != Env::State::Idle) continue;
    }
    if (!env->frozen && env->sandbox && env->sandbox->freeze()) env->frozen = true;
  }
}

void Controller::function_changed(const std::string& name) {
  std::vector<std::shared_ptr<Env>> retired;
  {
    std::lock_guard lock(mu_);
    functions_.erase(name);
    ++function_changes_;
    auto it = idle_.find(name);
    if (it != idle_.end()) {
      auto list = it->second;
      for (auto& env : list) {
        unlink_locked(env);
        retired.push_back(env);
      }
    }
  }
  for (auto& env : retired) destroy_later(env);
}

void Controller::shutdown(std::chrono::milliseconds drain) {
  {
    std::lock_guard lock(mu_);
    if (!accepting_ && envs_.empty()) return;
    accepting_ = false;
  }
  {
    // The last in-flight invocation to finish opens the gate (leave_busy_locked).
    std::unique_lock lock(mu_);
    settled_.wait_until(lock, Clock::now() + drain, [&] { return busy_ == 0; });
  }
  std::vector<std::shared_ptr<Env>> all;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, env] : envs_) all.push_back(env);
  }
  // Runtimes get SIGTERM and 2 s to exit, as Lambda's shutdown phase.
  for (auto& env : all) {
    std::lock_guard life(env->life_mu);
    if (!env->sandbox) continue;
    if (env->frozen) (void)env->sandbox->thaw();
    env->frozen = false;
    env->sandbox->terminate();
  }
  {
    std::unique_lock lock(mu_);
    settled_.wait_until(lock, Clock::now() + std::chrono::seconds(2),
                        [&] { return envs_.empty(); });
  }
  for (auto& env : all) {
    fail_and_discard(env, function_error::kRuntimeExitError,
                     "The daemon shut down during the invocation", true);
  }
  pool_.stop();
  // Wait for the destroys to finish: everything is gone when shutdown returns.
  std::unique_lock lock(mu_);
  settled_.wait_for(lock, std::chrono::seconds(5), [&] { return destroys_pending_ == 0; });
}

ControllerStats Controller::stats() {
  ControllerStats s;
  std::lock_guard lock(mu_);
  s.environments = envs_.size();
  s.busy = busy_;
  for (auto& [name, list] : idle_) {
    s.idle += list.size();
    for (auto& env : list) s.frozen += env->frozen ? 1 : 0;
  }
  s.memory_used_mb = memory_used_mb_;
  s.memory_budget_mb = options_.memory_budget_mb;
  s.concurrency_limit = options_.concurrency_limit;
  s.cold_starts = cold_starts_;
  s.warm_starts = warm_starts_;
  s.throttles = throttles_;
  s.reserved = total_reserved_;
  s.unreserved_busy = busy_unreserved_;
  s.prepared = pool_.ready_count();
  return s;
}

}  // namespace runtimed
