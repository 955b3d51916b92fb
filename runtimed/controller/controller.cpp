// The controller (see controller.hpp). Threads: HTTP io threads call invoke() and the Runtime API
// callbacks; a blocking pool runs launch and destroy; the EnvironmentMonitor's thread reports exits
// and function output and sweeps timeouts, freezing and keep-alive every 10 ms. Lock order:
// Env::life_mu before mu_ before InvocationLog's; never the other way.
#include "runtimed/controller/controller.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <fstream>
#include <map>

#include "api/alias_routing.hpp"
#include "api/function_name.hpp"
#include "api/store_error_mapping.hpp"
#include "common/account_scope.hpp"
#include "common/function_error_types.hpp"
#include "common/ids.hpp"
#include "common/module_logger.hpp"
#include "runtimed/controller/invocation_log.hpp"
#include "runtimed/controller/sweep_policy.hpp"
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

// The metrics outcome of an invocation ended by the platform with `error_type`.
std::string_view outcome_of_platform_error(std::string_view error_type) {
  if (error_type == function_error::kSandboxTimedout) return "timeout";
  if (error_type == function_error::kRuntimeExitError) return "crash";
  if (error_type == function_error::kRuntimeOutOfMemory) return "out_of_memory";
  if (error_type == function_error::kRuntimeInvalidEntrypoint) return "function_error";
  return "platform_error";
}

uint64_t memory_budget_or_default(uint64_t configured_mb) {
  if (configured_mb != 0) return configured_mb;
  auto host = sandbox::CgroupHost::detect();
  return default_memory_budget_mb(host ? host->memory_limit_bytes() : std::nullopt);
}

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
  common::FunctionConfig config;  // config.version: the version its environments run
  std::string pool_key;           // api::pool_key(name, version): its warm pool and cache key
  std::filesystem::path code_dir;
  std::shared_ptr<void> code_hold;        // environments of this entry keep its code on disk
  std::string arn;                        // unqualified
  std::shared_ptr<const LayerMount> opt;  // the function's layers, bound at /opt; null without
  std::string account;  // its account's scope ("" the daemon's own): whose memory share it uses
};

struct Controller::Pending {
  api::InvokeRequest request;
  std::string version;  // what the qualifier resolved to ($LATEST, or a published version)
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
  FunctionEntryPtr fn;
  std::unique_ptr<InvocationLog> output;
  size_t thread_index = 0;
  std::unique_ptr<ExecutionEnvironment> sandbox;
  std::unique_ptr<api::RuntimeApiEndpoint> endpoint;
  int control_fd = -1;  // readable when the runtime ends

  // Guarded by the controller's mutex.
  State state = State::Starting;
  bool initialized = false;
  bool launched = false;  // sandbox and endpoint are set
  bool watched = false;
  bool destroy_posted = false;
  Clock::time_point admitted;  // cold starts: when admission created it
  Clock::time_point launch_started;
  Clock::time_point idle_since;
  std::optional<double> init_duration_ms;  // reported with the first invocation only
  std::string provisioned;                 // its "NAME:QUALIFIER" while provisioned ahead
  bool ahead = false;  // started with no invocation (provisioned); set before it is shared
  std::unique_ptr<Pending> pending;
  std::optional<Admission::Slot> slot;  // while its invocation counts against concurrency
  DiskBudget::Lease tmp_lease;          // its /tmp's share of the disk; given back when unlinked

  // Serializes every use of `sandbox` after launch (freeze, thaw, exit, memory reads) with its
  // destruction, which happens on the blocking pool.
  std::mutex life_mu;
  std::atomic<bool> frozen{false};
  // How long the thaw before the current invocation took, when it found the environment frozen
  // (guarded by life_mu; told with the invocation's answer when asked for its phases).
  std::optional<double> thaw_ms;
};

Controller::Controller(ControllerOptions options, EnvironmentFactory& environments,
                       api::HttpServer& server, api::FunctionCatalog& catalog, FunctionLogs& logs)
    : options_(std::move(options)),
      environments_(environments),
      server_(server),
      catalog_(catalog),
      logs_(logs),
      disk_budget_(environments.disk_dir(), options_.disk_reserve_mb),
      layer_mounts_(options_.layer_mounts_dir),
      metrics_(options_.metrics ? *options_.metrics : own_metrics_, options_.metrics_function_limit,
               [this] { return stats(); }),
      admission_(options_.concurrency_limit, memory_budget_or_default(options_.memory_budget_mb)),
      monitor_(EnvironmentMonitor::Callbacks{
                   .on_output = [this](uint64_t id) { on_output(id); },
                   .on_exit = [this](uint64_t id) { on_exit(id); },
                   .on_sweep = [this](Clock::time_point now) { sweep(now); },
               },
               std::chrono::milliseconds(10)) {
  options_.memory_budget_mb = admission_.memory_budget_mb();
}

Controller::~Controller() {
  shutdown(std::chrono::milliseconds(0));
  monitor_.stop();
  blocking_.join();
}

std::expected<std::string, api::ApiError> Controller::resolve_version(
    const api::InvokeRequest& request) {
  if (!request.qualifier || api::is_version_qualifier(*request.qualifier))
    return request.qualifier.value_or("$LATEST");
  // An alias: its routing from the catalog's memory, and a draw for a weighted split.
  auto routing = catalog_.alias_routing(request.function_name, *request.qualifier);
  if (!routing) {
    return std::unexpected(api::ApiError::not_found(common::function_not_found_message(
        function_arn(options_.host, request.function_name) + ":" + *request.qualifier)));
  }
  return routing->additional_version ? routing->choose(api::routing_draw())
                                     : routing->function_version;
}

std::expected<Controller::FunctionEntryPtr, api::ApiError> Controller::function_entry(
    const std::string& name, const std::string& version) {
  // $LATEST's key is the name itself: an unqualified call builds no string.
  std::string qualified;
  const std::string& key = version == "$LATEST" ? name : (qualified = api::pool_key(name, version));
  // Whoever marked the key loading unmarks it however it leaves, and wakes the waiters.
  struct LoadingMark {
    Controller& c;
    const std::string& key;
    bool held = false;
    ~LoadingMark() {
      if (!held) return;
      common::MutexLock lock(c.mu_);
      c.functions_loading_.erase(key);
      c.function_loaded_.notify_all();
    }
  } mark{*this, key};
  for (;;) {
    uint64_t changes_seen;
    {
      common::MutexLock lock(mu_);
      if (!mark.held) {
        function_loaded_.wait(lock, [&]() REQUIRES(mu_) {
          return functions_.contains(key) || !functions_loading_.contains(key);
        });
      }
      auto it = functions_.find(key);
      if (it != functions_.end()) return it->second;
      if (!mark.held) mark.held = functions_loading_.insert(key).second;
      changes_seen = function_changes_;
    }
    auto config = version == "$LATEST" ? catalog_.get(name) : catalog_.get_version(name, version);
    if (!config) {
      api::ApiError error = api::to_api_error(config.error());
      if (error.type == api::ApiErrorType::ResourceNotFound) {
        error.message = common::function_not_found_message(
            function_arn(options_.host, name) + (version == "$LATEST" ? "" : ":" + version));
      }
      return std::unexpected(std::move(error));
    }
    auto entry = std::make_shared<FunctionEntry>();
    entry->config = std::move(*config);
    entry->pool_key = key;
    if (!entry->config.layers.empty()) {
      std::vector<std::filesystem::path> dirs;
      for (const auto& layer : entry->config.layers) dirs.push_back(catalog_.layer_dir(layer));
      auto opt = layer_mounts_.merged(dirs);
      if (!opt) {
        log()->error("layers of {}: {}", key, opt.error());
        return std::unexpected(
            api::ApiError::service("The function's layers could not be mounted: " + opt.error()));
      }
      entry->opt = std::move(*opt);
    }
    entry->code_dir = catalog_.code_dir(entry->config);
    entry->code_hold = catalog_.hold_code(entry->config);
    entry->arn = function_arn(options_.host, name);
    entry->account = std::string(common::split_scoped_name(name).account);
    common::MutexLock lock(mu_);
    // A change that landed while we read may have been erased before we insert: read again
    // rather than cache what may already be stale.
    if (function_changes_ != changes_seen) continue;
    return functions_.emplace(key, std::move(entry)).first->second;
  }
}

void Controller::invoke(api::InvokeRequest request, std::string request_id, Done done) {
  auto version = resolve_version(request);
  if (!version) {
    done(api::InvokeResult{.api_error = std::move(version.error())});
    return;
  }
  auto fn = function_entry(request.function_name, *version);
  if (!fn) {
    done(api::InvokeResult{.api_error = std::move(fn.error())});
    return;
  }
  auto pending = std::make_unique<Pending>();
  pending->request = std::move(request);
  pending->version = std::move(*version);
  pending->request_id = std::move(request_id);
  pending->done = std::move(done);
  admit(std::move(pending), std::move(*fn));
}

void Controller::admit(std::unique_ptr<Pending> pending, FunctionEntryPtr fn) {
  const long thread = server_.current_thread_index();
  std::shared_ptr<Env> env;
  std::vector<std::shared_ptr<Env>> evicted;
  bool cold = false;
  {
    common::MutexLock lock(mu_);
    if (!accepting_) {
      lock.unlock();
      pending->done(
          api::InvokeResult{.api_error = api::ApiError::service("The daemon is shutting down")});
      return;
    }
    // Refused at once, never queued.
    auto slot = admission_.acquire(fn->config.name);
    if (!slot) {
      const std::string_view reason = slot.error() == Admission::Refusal::ReservedLimit
                                          ? "ReservedFunctionConcurrentInvocationLimitExceeded"
                                          : "ConcurrentInvocationLimitExceeded";
      const bool began = note_throttle_locked(reason);
      lock.unlock();
      if (began) log()->warn("throttling started: {} (429 at once, never queued)", reason);
      metrics_.throttle(reason);
      pending->done(api::InvokeResult{
          .api_error = api::ApiError::too_many_requests("Rate Exceeded.", std::string(reason))});
      return;
    }
    // A warm environment of this function's current revision, preferably served by this io thread.
    // A provisioned one first (as Lambda uses them first), then one of this io thread, then the
    // most recently used.
    auto& idle = idle_[fn->pool_key];
    int best = -1;
    for (auto it = idle.rbegin(); it != idle.rend() && best < 3; ++it) {
      if ((*it)->fn != fn) continue;
      const int score = ((*it)->provisioned.empty() ? 0 : 2) +
                        (static_cast<long>((*it)->thread_index) == thread ? 1 : 0);
      if (score > best) {
        best = score;
        env = *it;
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
      const auto fits = [&]() REQUIRES(mu_) {
        return admission_.memory_fits(need, fn->account) &&
               (tmp_lease || (tmp_lease = disk_budget_.reserve(
                                  static_cast<uint64_t>(fn->config.ephemeral_storage_mb))));
      };
      while (!fits()) {
        // When the account's own share is what is full, only its environments make room.
        const bool own_only = !admission_.account_memory_fits(need, fn->account);
        std::shared_ptr<Env> oldest;
        for (auto& [name, list] : idle_) {
          for (auto& candidate : list) {
            if (!candidate->provisioned.empty()) continue;  // kept, as Lambda keeps them
            if (own_only && candidate->fn->account != fn->account) continue;
            if (!oldest || candidate->idle_since < oldest->idle_since) oldest = candidate;
          }
        }
        if (!oldest) break;
        unlink_locked(oldest);
        evicted.push_back(std::move(oldest));
      }
      if (!fits()) {
        const bool account_full = !admission_.account_memory_fits(need, fn->account);
        const bool memory_full = account_full || !admission_.memory_fits(need);
        admission_.release(fn->config.name, *slot);
        // Reason stays within Lambda's ThrottleReason values, which SDKs model as an enum; the
        // message says which budget is full.
        const std::string detail =
            account_full
                ? fmt::format(
                      "Rate Exceeded. Account {}'s memory share is full: its environments hold {} "
                      "of {} MB and this function needs {} MB.",
                      common::account_of(options_.host, fn->config.name),
                      admission_.account_memory_used_mb(fn->account),
                      admission_.account_memory_cap(fn->account).value_or(0), need)
            : memory_full
                ? fmt::format(
                      "Rate Exceeded. The host's memory budget is full: environments hold {} of "
                      "{} MB and this function needs {} MB.",
                      admission_.memory_used_mb(), admission_.memory_budget_mb(), need)
                : std::string();
        const std::string_view which = account_full  ? "AccountMemoryFull"
                                       : memory_full ? "MemoryBudgetFull"
                                                     : "DiskFull";
        const bool began = note_throttle_locked(which);
        lock.unlock();
        if (began) {
          log()->warn("throttling started: {}", memory_full ? detail : "disk budget full");
        }
        metrics_.throttle(which);
        for (auto& e : evicted) destroy_later(std::move(e));
        pending->done(api::InvokeResult{
            .api_error = memory_full ? api::ApiError::too_many_requests(
                                           detail, "ConcurrentInvocationLimitExceeded")
                                     : api::ephemeral_storage_throttle()});
        return;
      }
      env = std::make_shared<Env>();
      env->id = next_env_id_++;
      env->fn = fn;
      env->output = std::make_unique<InvocationLog>(logs_.get(fn->config.name), fn->config.version);
      env->thread_index =
          thread >= 0 ? static_cast<size_t>(thread) : env->id % server_.thread_count();
      admission_.add_memory(need, fn->account);
      env->tmp_lease = std::move(*tmp_lease);
      env->admitted = Clock::now();
      envs_.emplace(env->id, env);
      ++cold_starts_;
      cold = true;
    }
    env->state = Env::State::Busy;
    env->slot = *slot;
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
    metrics_.cold_start(fn->config.name);
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
      const auto thaw_started = Clock::now();
      if (auto r = env->sandbox->thaw(); !r)
        log()->warn("thaw {}: {}", env->id, r.error().to_string());
      env->thaw_ms = ms_between(thaw_started, Clock::now());
      env->frozen = false;
    }
  }
  deliver(env);
}

void Controller::deliver(const std::shared_ptr<Env>& env) {
  api::InvocationEvent event;
  {
    common::MutexLock lock(mu_);
    if (!env->pending || env->state == Env::State::Dead) return;
    const Pending& p = *env->pending;
    event.request_id = p.request_id;
    // The ARN the caller invoked: with its qualifier, as Lambda passes it.
    event.invoked_function_arn =
        p.request.qualifier ? env->fn->arn + ":" + *p.request.qualifier : env->fn->arn;
    event.trace_id = p.request.trace_id;
    event.client_context = p.request.client_context;
    event.payload = p.request.payload;
    event.stream_sink = p.request.stream_sink;
    event.executed_version = env->fn->config.version;
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
  // Under life_mu: a runtime that exited since the check above may have its environment
  // destroyed, endpoint and all, by destroy_later right now.
  std::lock_guard life(env->life_mu);
  if (env->endpoint) env->endpoint->deliver(std::move(event));
}

void Controller::start_cold(const std::shared_ptr<Env>& env, const FunctionEntryPtr& fn) {
  const std::filesystem::path opt_dir = fn->opt ? fn->opt->dir() : std::filesystem::path();
  auto entry = find_entrypoint(fn->config, fn->code_dir, options_.runtimes_dir, opt_dir);
  if (!entry) {
    fail_and_discard(env, function_error::kRuntimeInvalidEntrypoint, entry.error(), false);
    return;
  }
  const auto tmp_mb = static_cast<uint64_t>(fn->config.ephemeral_storage_mb);
  // A stem of the function's language skips the interpreter's start-up; else a prepared
  // environment, where launch starts the runtime.
  std::unique_ptr<ExecutionEnvironment> stem;
  if (const std::string language = stem_language(fn->config, *entry, options_.stems);
      !language.empty())
    stem = environments_.take_stem(language, tmp_mb, fn->config.wants_network());
  auto prepared = stem ? sandbox::Result<std::unique_ptr<ExecutionEnvironment>>(std::move(stem))
                       : environments_.take(tmp_mb, fn->config.wants_network());
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
  sandbox::UniqueFd output_write;
  if (auto stem_output = env->sandbox->take_stem_output(); stem_output) {
    // The stem has written to its own pipe since it started (nothing, normally).
    env->output->attach_output(std::move(stem_output));
  } else {
    int out[2];
    // Only the daemon's read end is non-blocking: a runtime writing faster than the monitor
    // drains must block, as on a terminal, not see EAGAIN and drop output.
    if (::pipe2(out, O_CLOEXEC) != 0) {
      life.unlock();
      fail_and_discard(env, function_error::kRuntimeUnknown, "pipe failed", false);
      return;
    }
    // Owned at once, so a failure below closes both ends.
    sandbox::UniqueFd output_read(out[0]);
    output_write.reset(out[1]);
    if (::fcntl(output_read.get(), F_SETFL, O_NONBLOCK) != 0) {
      life.unlock();
      fail_and_discard(env, function_error::kRuntimeUnknown, "pipe failed", false);
      return;
    }
    ::fcntl(output_read.get(), F_SETPIPE_SZ, 1 << 20);
    env->output->attach_output(std::move(output_read));
  }
  // The runtime rarely blocks on its stdout: the write end blocks only when 1 MiB is unread, and
  // the monitor drains it as soon as data arrives.
  auto spec = launch_spec_for(fn->config, fn->code_dir, *entry, options_.host,
                              new_log_stream_name(fn->config.version), options_.cpu_quota);
  spec.opt_dir = opt_dir;
  if (env->ahead) {
    for (auto& variable : spec.env)
      if (variable == "AWS_LAMBDA_INITIALIZATION_TYPE=on-demand")
        variable = "AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency";
  }
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
    common::MutexLock lock(mu_);
    env->launch_started = Clock::now();
  }
  auto launched = env->sandbox->launch(spec);
  output_write.reset();
  if (!launched) {
    // The runtime could not be started: a missing interpreter or a bad bootstrap is the
    // function's problem, reported as Lambda reports an unusable entry point.
    std::string request_id;
    {
      common::MutexLock lock(mu_);
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
    common::MutexLock lock(mu_);
    if (env->state == Env::State::Dead) return;  // retired meanwhile (init error); being destroyed
    env->launched = true;
    idle_when_ready_locked(env);
  }
  watch(env);
  life.unlock();  // set up; deliver() takes it again
  // An environment started ahead has no invocation of its own: one that took it since was
  // delivered by admit.
  if (!env->ahead) deliver(env);
}

std::shared_ptr<Controller::Env> Controller::find_env(uint64_t env_id) {
  common::MutexLock lock(mu_);
  auto it = envs_.find(env_id);
  return it == envs_.end() ? nullptr : it->second;
}

void Controller::on_first_next(uint64_t env_id) {
  common::MutexLock lock(mu_);
  auto it = envs_.find(env_id);
  if (it == envs_.end()) return;
  Env& env = *it->second;
  if (env.initialized) return;
  env.initialized = true;
  const auto now = Clock::now();
  env.init_duration_ms = ms_between(env.launch_started, now);
  metrics_.init_done(env.fn->config.name, *env.init_duration_ms / 1000);
  if (env.pending) {
    env.pending->start = now;
    env.pending->deadline = now + std::chrono::seconds(env.fn->config.timeout_s);
  } else if (env.ahead) {
    idle_when_ready_locked(it->second);
  }
}

void Controller::idle_when_ready_locked(const std::shared_ptr<Env>& env) {
  // Initialized ahead of any invocation, and start_cold is done with it: warm and waiting. Its
  // first invocation reports no Init Duration, as Lambda's provisioned environments.
  if (!env->ahead || !env->initialized || !env->launched || env->state != Env::State::Starting)
    return;
  env->init_duration_ms.reset();
  env->state = Env::State::Idle;
  env->idle_since = Clock::now();
  idle_[env->fn->pool_key].push_back(env);
}

void Controller::on_event_taken(uint64_t env_id, const std::string& request_id) {
  std::shared_ptr<Env> env;
  bool capture = false;
  {
    common::MutexLock lock(mu_);
    auto it = envs_.find(env_id);
    if (it == envs_.end()) return;
    env = it->second;
    if (!env->pending || env->pending->request_id != request_id) return;
    capture = env->pending->request.tail_log;
  }
  env->output->start(request_id, capture);
}

void Controller::on_outcome(uint64_t env_id, const std::string& request_id,
                            api::InvocationOutcome outcome) {
  std::shared_ptr<Env> env;
  std::unique_ptr<Pending> pending;
  bool stale = false;
  {
    common::MutexLock lock(mu_);
    auto it = envs_.find(env_id);
    if (it == envs_.end()) return;
    env = it->second;
    if (!env->pending || env->pending->request_id != request_id || env->state != Env::State::Busy) {
      return;
    }
    pending = std::move(env->pending);
    env->idle_since = Clock::now();
    if (auto current = functions_.find(env->fn->pool_key);
        current != functions_.end() && current->second == env->fn) {
      leave_busy_locked(*env);
      env->state = Env::State::Idle;
      idle_[env->fn->pool_key].push_back(env);
    } else {
      // The function changed while this invocation ran: this environment runs stale code.
      // (unlink_locked leaves the busy count too: once, not twice.)
      stale = unlink_locked(env);
    }
  }
  api::InvokeResult result;
  switch (outcome.kind) {
    case api::InvocationOutcome::Kind::Response:
      result.payload = std::move(outcome.body);
      if (!outcome.content_type.empty()) result.content_type = outcome.content_type;
      break;
    // A response too large carries the endpoint's error object, naming the limit it passed.
    case api::InvocationOutcome::Kind::FunctionError:
    case api::InvocationOutcome::Kind::ResponseTooLarge:
      result.function_error = true;
      result.payload = std::move(outcome.body);
      break;
  }
  const char* metric_outcome = result.function_error ? "function_error" : "success";
  finish(env, std::move(pending), std::move(result), metric_outcome);
  if (stale) destroy_later(env);
}

void Controller::on_init_error(uint64_t env_id, api::InvocationOutcome outcome) {
  std::shared_ptr<Env> env;
  std::unique_ptr<Pending> pending;
  {
    common::MutexLock lock(mu_);
    auto it = envs_.find(env_id);
    if (it == envs_.end()) return;
    env = it->second;
    if (!unlink_locked(env)) return;
    pending = std::move(env->pending);
    if (auto target = provisioned_.find(env->provisioned); target != provisioned_.end())
      target->second.failure = "FUNCTION_ERROR_INIT_FAILURE";
  }
  if (pending) {
    api::InvokeResult result;
    result.function_error = true;
    result.payload = std::move(outcome.body);
    finish(env, std::move(pending), std::move(result), "function_error");
  }
  destroy_later(env);
}

void Controller::on_output(uint64_t env_id) {
  if (auto env = find_env(env_id)) env->output->pump();
}

void Controller::on_exit(uint64_t env_id) {
  auto env = find_env(env_id);
  if (!env) return;
  unwatch(*env);
  env->output->pump();
  sandbox::ExitStatus status;
  {
    std::lock_guard life(env->life_mu);
    if (!env->sandbox) return;
    status = env->sandbox->wait_exit();
  }
  std::unique_ptr<Pending> pending;
  {
    common::MutexLock lock(mu_);
    if (!unlink_locked(env)) return;  // already retired (timeout, update, shutdown)
    pending = std::move(env->pending);
    // A provisioned runtime that ends before its init does is not started again until a new Put.
    if (auto target = provisioned_.find(env->provisioned);
        target != provisioned_.end() && !env->initialized)
      target->second.failure = "FUNCTION_ERROR_INIT_FAILURE";
  }
  if (pending && pending->warm_handed_before && env->endpoint &&
      env->endpoint->events_handed_out() == *pending->warm_handed_before) {
    // The runtime exited between invocations (after an unhandled error, say) before it took
    // this one: as on Lambda, the invocation runs on a fresh environment instead of failing.
    if (auto fn = function_entry(pending->request.function_name, pending->version)) {
      pending->start = {};
      pending->warm_handed_before.reset();
      admit(std::move(pending), std::move(*fn));
    } else {
      pending->done(api::InvokeResult{.api_error = std::move(fn.error())});
    }
    destroy_later(env);
    return;
  }
  if (pending) {
    const bool oom = status.kind == sandbox::ExitStatus::Kind::OutOfMemory;
    const std::string detail = oom ? "signal: killed" : status.describe();
    const std::string message =
        "RequestId: " + pending->request_id + " Error: Runtime exited with error: " + detail;
    api::InvokeResult result;
    result.function_error = true;
    result.payload = api::platform_error_payload(
        oom ? function_error::kRuntimeOutOfMemory : function_error::kRuntimeExitError, message);
    env->output->append_platform_line(message);
    finish(env, std::move(pending), std::move(result), oom ? "out_of_memory" : "crash");
  }
  destroy_later(env);
}

void Controller::fail_and_discard(const std::shared_ptr<Env>& env, const std::string& error_type,
                                  const std::string& message, bool kill_first) {
  std::unique_ptr<Pending> pending;
  bool live = false;
  {
    common::MutexLock lock(mu_);
    live = unlink_locked(env);
    if (live) pending = std::move(env->pending);
  }
  // Unlinked before the kill: an answer the runtime sends meanwhile, or the broken connection of
  // a response it was streaming when killed, finds no invocation to end. This error is its end.
  if (kill_first) {
    std::lock_guard life(env->life_mu);
    if (env->sandbox) env->sandbox->kill();
  }
  if (!live) return;
  if (pending) {
    api::InvokeResult result;
    result.function_error = true;
    result.payload = api::platform_error_payload(error_type, message);
    env->output->append_platform_line(message);
    finish(env, std::move(pending), std::move(result), outcome_of_platform_error(error_type));
  }
  destroy_later(env);
}

bool Controller::unlink_locked(const std::shared_ptr<Env>& env) {
  if (env->state == Env::State::Dead || !envs_.count(env->id)) return false;
  if (env->state == Env::State::Busy) leave_busy_locked(*env);
  if (env->state == Env::State::Idle) {
    auto& list = idle_[env->fn->pool_key];
    list.erase(std::remove(list.begin(), list.end(), env), list.end());
  }
  env->state = Env::State::Dead;
  admission_.remove_memory(static_cast<uint64_t>(env->fn->config.memory_mb), env->fn->account);
  env->tmp_lease.release();
  envs_.erase(env->id);
  ++awaiting_destroy_;  // every caller follows with destroy_later()
  if (envs_.empty() && !accepting_) drained_.notify_all();
  return true;
}

bool Controller::note_throttle_locked(std::string_view reason) {
  ++throttles_;
  const auto now = Clock::now();
  const bool began = !throttling_.active;
  if (began) {
    throttling_ = ThrottleEpisode{.active = true, .started = now, .reason = std::string(reason)};
  }
  throttling_.last = now;
  ++throttling_.refused;
  return began;
}

void Controller::leave_busy_locked(Env& env) {
  if (!env.slot) return;
  admission_.release(env.fn->config.name, *env.slot);
  env.slot.reset();
  if (admission_.busy() == 0 && !accepting_) drained_.notify_all();
}

void Controller::set_reserved_concurrency(const std::string& name, std::optional<int> reserved) {
  common::MutexLock lock(mu_);
  {
    common::MutexLock configured(reserved_mu_);
    if (reserved)
      reserved_[name] = *reserved;
    else
      reserved_.erase(name);
  }
  if (!reserved) return admission_.set_reserved(name, std::nullopt);
  admission_.set_reserved(name, reserved_share_ ? reserved_share_(name, *reserved) : *reserved);
}

void Controller::set_reserved_share(ReservedShare share) {
  {
    common::MutexLock lock(mu_);
    reserved_share_ = std::move(share);
  }
  reshare_reservations();
}

void Controller::reshare_reservations() {
  common::MutexLock lock(mu_);
  std::unordered_map<std::string, int> configured;
  {
    common::MutexLock held(reserved_mu_);
    configured = reserved_;
  }
  for (const auto& [name, reserved] : configured)
    admission_.set_reserved(name, reserved_share_ ? reserved_share_(name, reserved) : reserved);
}

void Controller::set_account_memory_caps(const std::map<std::string, uint64_t>& caps) {
  common::MutexLock lock(mu_);
  for (const auto& [account, old] : account_caps_)
    if (!caps.contains(account)) admission_.set_account_memory_cap(account, std::nullopt);
  for (const auto& [account, mb] : caps) admission_.set_account_memory_cap(account, mb);
  account_caps_ = caps;
}

std::optional<int> Controller::reserved_concurrency(const std::string& name) {
  common::MutexLock lock(reserved_mu_);
  auto it = reserved_.find(name);
  if (it == reserved_.end()) return std::nullopt;
  return it->second;
}

Controller::Capacity Controller::capacity(const std::string& name) {
  common::MutexLock lock(mu_);
  return admission_.capacity(name);
}

void Controller::finish(const std::shared_ptr<Env>& env, std::unique_ptr<Pending> pending,
                        api::InvokeResult result, std::string_view outcome) {
  const bool started = pending->start != Clock::time_point{};
  InvocationReport report{
      .duration_ms = started ? ms_between(pending->start, Clock::now()) : 0.0,
      .memory_size_mb = env->fn->config.memory_mb,
  };
  {
    std::lock_guard life(env->life_mu);
    if (env->sandbox)
      report.max_memory_used_mb = (env->sandbox->memory_peak_bytes() + (1 << 20) - 1) >> 20;
    if (pending->request.want_phases) result.thaw_ms = env->thaw_ms;
    env->thaw_ms.reset();
  }
  double launch_ms = 0;
  {
    common::MutexLock lock(mu_);
    report.init_duration_ms = std::exchange(env->init_duration_ms, std::nullopt);
    if (report.init_duration_ms) launch_ms = ms_between(env->admitted, env->launch_started);
  }
  // The cold start's phases (sandbox launch, runtime init, first invocation), when asked for.
  if (report.init_duration_ms && pending->request.want_phases) {
    result.cold_start_phases = fmt::format("launch={:.1f};init={:.1f};invoke={:.1f}", launch_ms,
                                           *report.init_duration_ms, report.duration_ms);
  }
  metrics_.invocation(env->fn->config.name, outcome, report.duration_ms / 1000);
  result.executed_version = env->fn->config.version;
  std::string tail = env->output->end(pending->request_id, report);
  if (pending->request.tail_log) result.log_tail = std::move(tail);
  pending->done(std::move(result));
}

void Controller::destroy_later(std::shared_ptr<Env> env) {
  unwatch(*env);
  {
    common::MutexLock lock(mu_);
    if (env->destroy_posted) return;
    env->destroy_posted = true;
  }
  boost::asio::post(blocking_, [this, env = std::move(env)]() mutable {
    if (env->endpoint) env->endpoint->close();
    {
      std::lock_guard life(env->life_mu);
      env->endpoint.reset();
      env->sandbox.reset();  // kill, reap, remove cgroup, unmount /tmp, remove the directory
    }
    env.reset();
    common::MutexLock lock(mu_);
    if (--awaiting_destroy_ == 0) drained_.notify_all();
  });
}

void Controller::watch(const std::shared_ptr<Env>& env) {
  common::MutexLock lock(mu_);
  if (env->state == Env::State::Dead) return;
  monitor_.watch(env->id, env->control_fd, env->output->output_fd());
  env->watched = true;
}

void Controller::unwatch(Env& env) {
  common::MutexLock lock(mu_);
  if (!env.watched) return;
  monitor_.unwatch(env.control_fd, env.output->output_fd());
  env.watched = false;
}

void Controller::sweep(Clock::time_point now) {
  const SweepLimits limits{options_.init_timeout, options_.keep_alive, options_.freeze_after};
  std::vector<std::shared_ptr<Env>> timed_out, init_timed_out, to_freeze, expired;
  {
    common::MutexLock lock(mu_);
    for (auto& [id, env] : envs_) {
      const bool busy = env->state == Env::State::Busy && env->pending;
      const SweepView view{
          .busy = busy,
          .idle = env->state == Env::State::Idle,
          .initialized = env->initialized,
          .launched = env->launched,
          .frozen = env->frozen,
          .launch_started = env->launch_started,
          .deadline = busy ? env->pending->deadline : Clock::time_point{},
          .idle_since = env->idle_since,
          .provisioned = !env->provisioned.empty(),
          .started_ahead = env->ahead,
      };
      switch (sweep_action(view, now, limits)) {
        case SweepAction::None:
          break;
        case SweepAction::InitTimedOut:
          init_timed_out.push_back(env);
          break;
        case SweepAction::TimedOut:
          timed_out.push_back(env);
          break;
        case SweepAction::Expired:
          expired.push_back(env);
          break;
        case SweepAction::Freeze:
          to_freeze.push_back(env);
          break;
      }
    }
    for (auto& env : expired) unlink_locked(env);
  }
  std::optional<ThrottleEpisode> ended;
  {
    common::MutexLock lock(mu_);
    if (throttling_.active && now - throttling_.last > kThrottleQuiet) {
      ended = throttling_;
      throttling_ = {};
    }
  }
  if (ended) {
    log()->warn("throttling stopped: {} invocations refused over {:.1f} s (first: {})",
                ended->refused, std::chrono::duration<double>(ended->last - ended->started).count(),
                ended->reason);
  }
  const auto request_id_of = [this](Env& env) {
    common::MutexLock lock(mu_);
    return env.pending ? env.pending->request_id : std::string();
  };
  for (auto& env : timed_out) {
    fail_and_discard(env, function_error::kSandboxTimedout,
                     "RequestId: " + request_id_of(*env) + " Error: Task timed out after " +
                         fmt::format("{:.2f}", static_cast<double>(env->fn->config.timeout_s)) +
                         " seconds",
                     true);
  }
  for (auto& env : init_timed_out) {
    {
      common::MutexLock lock(mu_);
      if (auto target = provisioned_.find(env->provisioned); target != provisioned_.end())
        target->second.failure = "FUNCTION_ERROR_INIT_TIMEOUT";
    }
    fail_and_discard(
        env, function_error::kSandboxTimedout,
        "RequestId: " + request_id_of(*env) + " Error: Init timed out after " +
            fmt::format("{:.2f}", std::chrono::duration<double>(options_.init_timeout).count()) +
            " seconds",
        true);
  }
  for (auto& env : expired) destroy_later(env);
  for (auto& env : to_freeze) {
    std::lock_guard life(env->life_mu);
    {
      common::MutexLock lock(mu_);
      if (env->state != Env::State::Idle) continue;
    }
    if (!env->frozen && env->sandbox && env->sandbox->freeze()) env->frozen = true;
  }
  provision();
}

void Controller::set_provisioned(const std::string& name, const std::string& qualifier,
                                 size_t requested) {
  const std::string key = api::pool_key(name, qualifier);
  std::vector<std::shared_ptr<Env>> retired;
  {
    common::MutexLock lock(mu_);
    if (requested == 0) {
      provisioned_.erase(key);
    } else {
      auto& target = provisioned_[key];
      target = ProvisionedTarget{name, qualifier, requested, {}};  // a new Put tries again
    }
    // Beyond the target: idle ones retire now, busy ones become on-demand when they finish.
    size_t kept = 0;
    std::vector<std::shared_ptr<Env>> extra;
    for (auto& [id, env] : envs_) {
      if (env->provisioned != key) continue;
      if (++kept > requested) extra.push_back(env);
    }
    for (auto& env : extra) {
      if (env->state == Env::State::Idle) {
        if (unlink_locked(env)) retired.push_back(env);
      } else {
        env->provisioned.clear();
      }
    }
  }
  for (auto& env : retired) destroy_later(env);
}

void Controller::reconcile_provisioned(const std::string& name,
                                       const std::map<std::string, size_t>& configured) {
  std::vector<std::string> qualifiers;
  {
    common::MutexLock lock(mu_);
    for (const auto& [key, target] : provisioned_)
      if (target.name == name) qualifiers.push_back(target.qualifier);
  }
  for (const std::string& qualifier : qualifiers) {
    const auto wanted = configured.find(qualifier);
    if (wanted == configured.end()) {
      set_provisioned(name, qualifier, 0);
      continue;
    }
    if (api::is_version_qualifier(qualifier)) continue;
    auto routing = catalog_.alias_routing(name, qualifier);
    if (!routing) continue;
    bool moved = false;
    {
      const std::string key = api::pool_key(name, qualifier);
      common::MutexLock lock(mu_);
      for (const auto& [id, env] : envs_)
        if (env->provisioned == key && env->fn->config.version != routing->function_version)
          moved = true;
    }
    if (moved) {
      set_provisioned(name, qualifier, 0);  // the old version's go
      set_provisioned(name, qualifier, wanted->second);
    }
  }
}

bool Controller::has_provisioned(const std::string& name) {
  common::MutexLock lock(mu_);
  for (const auto& [key, target] : provisioned_)
    if (target.name == name) return true;
  return false;
}

ProvisionedState Controller::provisioned_state(const std::string& name,
                                               const std::string& qualifier) {
  const std::string key = api::pool_key(name, qualifier);
  common::MutexLock lock(mu_);
  ProvisionedState state;
  for (const auto& [id, env] : envs_)
    if (env->provisioned == key && env->initialized) ++state.allocated;
  if (auto target = provisioned_.find(key); target != provisioned_.end())
    state.failure = target->second.failure;
  return state;
}

void Controller::provision() {
  std::vector<ProvisionedTarget> targets;
  {
    common::MutexLock lock(mu_);
    if (provisioned_.empty() || !accepting_) return;
    std::map<std::string, size_t> live;
    for (const auto& [id, env] : envs_)
      if (!env->provisioned.empty()) ++live[env->provisioned];
    for (const auto& [key, target] : provisioned_)
      if (target.failure.empty() && live[key] < target.requested) targets.push_back(target);
  }
  for (const ProvisionedTarget& target : targets) {
    const std::string key = api::pool_key(target.name, target.qualifier);
    // An alias's environments run its primary version, as Lambda provisions them.
    std::string version = target.qualifier;
    bool gone = false;
    if (!api::is_version_qualifier(version)) {
      auto routing = catalog_.alias_routing(target.name, target.qualifier);
      if (routing)
        version = routing->function_version;
      else
        gone = routing.error().kind == common::StoreErrorKind::NotFound;
    }
    auto fn = gone ? std::expected<FunctionEntryPtr, api::ApiError>(
                         std::unexpected(api::ApiError::not_found("gone")))
                   : function_entry(target.name, version);
    if (!fn) {
      // The alias, version or function was deleted (its config with it): stop keeping any.
      if (gone || fn.error().type == api::ApiErrorType::ResourceNotFound)
        set_provisioned(target.name, target.qualifier, 0);
      continue;
    }
    const uint64_t need = static_cast<uint64_t>((*fn)->config.memory_mb);
    std::vector<std::shared_ptr<Env>> started;
    {
      common::MutexLock lock(mu_);
      auto it = provisioned_.find(key);
      if (it == provisioned_.end() || !it->second.failure.empty() || !accepting_) continue;
      size_t live = 0;
      for (const auto& [id, env] : envs_) live += env->provisioned == key ? 1 : 0;
      while (live < it->second.requested) {
        // No room now: tried again at the next sweep (IN_PROGRESS meanwhile).
        if (!admission_.memory_fits(need, (*fn)->account)) break;
        auto tmp_lease =
            disk_budget_.reserve(static_cast<uint64_t>((*fn)->config.ephemeral_storage_mb));
        if (!tmp_lease) break;
        auto env = std::make_shared<Env>();
        env->id = next_env_id_++;
        env->fn = *fn;
        env->provisioned = key;
        env->ahead = true;
        env->output =
            std::make_unique<InvocationLog>(logs_.get(target.name), (*fn)->config.version);
        env->thread_index = env->id % server_.thread_count();
        admission_.add_memory(need, (*fn)->account);
        env->tmp_lease = std::move(*tmp_lease);
        env->admitted = Clock::now();
        envs_.emplace(env->id, env);
        started.push_back(env);
        ++live;
      }
    }
    for (auto& env : started) {
      boost::asio::post(blocking_, [this, env, fn = *fn] {
        try {
          start_cold(env, fn);
        } catch (const std::exception& e) {
          log()->error("provisioning {}: {}", fn->config.name, e.what());
          fail_and_discard(env, function_error::kRuntimeUnknown,
                           std::string("Internal error: ") + e.what(), true);
        }
      });
    }
  }
}

void Controller::function_changed(const std::string& qualified_name) {
  std::vector<std::shared_ptr<Env>> retired;
  {
    common::MutexLock lock(mu_);
    functions_.erase(qualified_name);
    ++function_changes_;
    retire_idle_locked(qualified_name, retired);
  }
  for (auto& env : retired) destroy_later(env);
  // Read the new configuration (and mount its layers) now, off the request path: the first
  // invocation after a create or an update finds it ready. A deleted function reads as not found.
  boost::asio::post(blocking_, [this, qualified_name] {
    const auto colon = qualified_name.find(':');
    const std::string name = qualified_name.substr(0, colon);
    const std::string version =
        colon == std::string::npos ? "$LATEST" : qualified_name.substr(colon + 1);
    try {
      (void)function_entry(name, version);
    } catch (const std::exception& e) {
      log()->warn("loading {} ahead: {}", qualified_name, e.what());
    }
  });
}

void Controller::forget_cached_functions() {
  common::MutexLock lock(mu_);
  functions_.clear();
  ++function_changes_;  // a read in flight is not cached either
}

void Controller::retire_idle_locked(const std::string& key,
                                    std::vector<std::shared_ptr<Env>>& retired) {
  auto it = idle_.find(key);
  if (it == idle_.end()) return;
  auto list = it->second;  // unlink_locked edits the pool
  for (auto& env : list) {
    if (unlink_locked(env)) retired.push_back(env);
  }
}

size_t Controller::drain(const std::string& name) {
  std::vector<std::shared_ptr<Env>> retired;
  {
    common::MutexLock lock(mu_);
    // Every version's pool: NAME, and NAME:VERSION.
    std::vector<std::string> keys;
    for (const auto& [key, list] : idle_) {
      if (key == name ||
          (key.starts_with(name) && key.size() > name.size() && key[name.size()] == ':'))
        keys.push_back(key);
    }
    for (const auto& key : keys) retire_idle_locked(key, retired);
  }
  for (auto& env : retired) destroy_later(env);
  return retired.size();
}

void Controller::shutdown(std::chrono::milliseconds drain) {
  std::vector<std::shared_ptr<Env>> all;
  {
    common::MutexLock lock(mu_);
    if (!accepting_ && envs_.empty() && awaiting_destroy_ == 0) return;
    accepting_ = false;
    drained_.wait_for(lock, drain, [this]() REQUIRES(mu_) { return admission_.busy() == 0; });
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
    common::MutexLock lock(mu_);
    drained_.wait_for(lock, std::chrono::seconds(2),
                      [this]() REQUIRES(mu_) { return envs_.empty(); });
  }
  for (auto& env : all) {
    fail_and_discard(env, function_error::kRuntimeExitError,
                     "The daemon shut down during the invocation", true);
  }
  all.clear();
  environments_.stop();
  // Everything is gone when shutdown returns: the destroys run on the blocking pool.
  common::MutexLock lock(mu_);
  if (!drained_.wait_for(lock, std::chrono::seconds(10),
                         [this]() REQUIRES(mu_) { return awaiting_destroy_ == 0; })) {
    log()->warn("shutdown: {} environments still being removed", awaiting_destroy_);
  }
}

ControllerStats Controller::stats() {
  ControllerStats s;
  common::MutexLock lock(mu_);
  s.environments = envs_.size();
  s.busy = admission_.busy();
  for (auto& [name, list] : idle_) {
    s.idle += list.size();
    for (auto& env : list) s.frozen += env->frozen ? 1 : 0;
  }
  s.memory_used_mb = admission_.memory_used_mb();
  s.memory_budget_mb = admission_.memory_budget_mb();
  s.concurrency_limit = admission_.concurrency_limit();
  s.cold_starts = cold_starts_;
  s.warm_starts = warm_starts_;
  s.throttles = throttles_;
  s.reserved = admission_.total_reserved();
  s.unreserved_busy = admission_.unreserved_busy();
  s.prepared = environments_.ready_count();
  s.stems = environments_.stem_count();
  return s;
}

std::vector<VersionEnvironments> Controller::environments_by_version() {
  std::map<std::pair<std::string, std::string>, VersionEnvironments> by_version;
  {
    common::MutexLock lock(mu_);
    for (const auto& [id, env] : envs_) {
      if (env->state == Env::State::Dead) continue;
      const auto& config = env->fn->config;
      auto& counts = by_version[{config.name, config.version}];
      switch (env->state) {
        case Env::State::Starting:
          ++counts.starting;
          break;
        case Env::State::Busy:
          ++counts.busy;
          break;
        case Env::State::Idle:
          ++(env->frozen ? counts.frozen : counts.warm);
          break;
        case Env::State::Dead:
          break;
      }
    }
  }
  std::vector<VersionEnvironments> out;
  out.reserve(by_version.size());
  for (auto& [key, counts] : by_version) {
    counts.function = key.first;
    counts.version = key.second;
    out.push_back(std::move(counts));
  }
  return out;
}

}  // namespace runtimed
