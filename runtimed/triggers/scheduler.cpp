// Schedules: the store, the routes and the firing thread (see scheduler.hpp).
#include "runtimed/triggers/scheduler.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "api/function_name.hpp"
#include "api/json_body.hpp"
#include "api/json_response.hpp"
#include "common/account_scope.hpp"
#include "common/ids.hpp"
#include "common/module_logger.hpp"
#include "runtimed/async/async_policy.hpp"
#include "runtimed/store/cluster_lease.hpp"

namespace runtimed {

namespace {

using api::ApiError;
using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

// The cluster-wide duty of firing the schedules (cluster_leases.name).
constexpr std::string_view kSchedulerLease = "scheduler";
// How often the lease holder reads the shared table again: a schedule put or deleted through
// another node fires, or stops, within this (plus the firing itself).
constexpr std::chrono::milliseconds kReloadEvery{500};
// How often a node not holding the lease tries to take it (at most; a third of the lease when
// shorter): a dead holder's lease is taken over within this of its expiry.
constexpr std::chrono::milliseconds kTakeOverEvery{500};

std::shared_ptr<spdlog::logger> scheduler_log() { return common::module_logger("scheduler"); }

std::string iso_time(int64_t ms) {
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool valid_schedule_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (const char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      return false;
  return true;
}

ApiError schedule_not_found(const std::string& name) {
  return ApiError::not_found("Schedule " + name + " does not exist.");
}

std::optional<int64_t> next_after(const json& spec, int64_t created_ms, int64_t after_ms,
                                  bool allow_seconds) {
  auto expression = parse_schedule_expression(spec.value("ScheduleExpression", ""), allow_seconds);
  if (!expression) return std::nullopt;
  using std::chrono::floor;
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  const auto next = next_fire(*expression, spec.value("ScheduleExpressionTimezone", "UTC"),
                              Seconds(floor<seconds>(milliseconds(created_ms))),
                              Seconds(floor<seconds>(milliseconds(after_ms))));
  if (!next) return std::nullopt;
  return std::chrono::duration_cast<milliseconds>(next->time_since_epoch()).count();
}

// Every column of a schedule, as schedule_of() reads them.
constexpr std::string_view kSelectSchedules =
    "SELECT name, spec, function, qualifier, created_ms, next_ms, last_fire_ms FROM schedules";

// The row `rows` is on, selected with kSelectSchedules.
Schedule schedule_of(const Statement& rows) {
  Schedule s;
  s.name = rows.column_text(0);
  s.spec = json::parse(rows.column_text(1), nullptr, false);
  s.function = rows.column_text(2);
  s.qualifier = rows.column_text(3);
  s.created_ms = rows.column_int64(4);
  if (!rows.column_is_null(5)) s.next_ms = rows.column_int64(5);
  s.last_fire_ms = rows.column_int64(6);
  return s;
}

}  // namespace

Scheduler::Scheduler(Options options, StateDb& db, api::FunctionApi& functions,
                     AsyncDispatcher& dispatcher)
    : options_(std::move(options)),
      clock_(options_.time_scale),
      db_(db),
      functions_(functions),
      dispatcher_(dispatcher) {}

Scheduler::~Scheduler() { stop(); }

std::expected<void, std::string> Scheduler::start() {
  if (shared()) {
    // Nothing read here: the database may be down at start; the thread reads once it holds the
    // lease, and the routes read the table.
    thread_ = std::thread([this] { run_shared(); });
    return {};
  }
  {
    common::MutexLock lock(mu_);
    auto all = read_all();
    if (!all) return std::unexpected(all.error().message);
    schedules_ = std::move(*all);
  }
  thread_ = std::thread([this] { run(); });
  return {};
}

std::expected<std::map<std::string, Schedule>, common::StoreError> Scheduler::read_all() {
  auto db_lock = db_.lock();
  auto rows = db_.prepare(kSelectSchedules);
  if (!rows) return std::unexpected(rows.error());
  std::map<std::string, Schedule> out;
  while (true) {
    auto row = rows->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return out;
    Schedule s = schedule_of(*rows);
    out[s.name] = std::move(s);
  }
}

std::expected<std::optional<Schedule>, common::StoreError> Scheduler::read_one(
    const std::string& name) {
  auto db_lock = db_.lock();
  auto rows = db_.prepare(std::string(kSelectSchedules) + " WHERE name = ?1");
  if (!rows) return std::unexpected(rows.error());
  auto row = rows->bind(1, name).step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::nullopt;
  return schedule_of(*rows);
}

void Scheduler::stop() {
  {
    common::MutexLock lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Scheduler::run() {
  common::MutexLock lock(mu_);
  while (!stopping_) {
    const int64_t now = clock_.now_ms();
    std::optional<int64_t> earliest;
    for (auto& [name, s] : schedules_) {
      if (!s.next_ms || s.spec.value("State", "ENABLED") != "ENABLED") continue;
      if (*s.next_ms <= now) fire(s, now);
      if (s.next_ms && (!earliest || *s.next_ms < *earliest)) earliest = s.next_ms;
    }
    // Sleeps until the earliest is due, or a route changes the schedules (or an hour passes:
    // the clock may have been set).
    const auto hour_from_now = ScheduleClock::WallClock::now() + std::chrono::hours(1);
    changed_.wait_until(
        lock, earliest ? std::min(clock_.wall_time_of(*earliest), hour_from_now) : hour_from_now);
  }
}

void Scheduler::fire(Schedule& s, int64_t now) {
  const std::string request_id = common::new_request_id();
  const std::string payload = event_payload(s, now, request_id);
  if (auto exists = functions_.configuration_of(
          {s.function, s.qualifier.empty() ? std::nullopt : std::optional(s.qualifier)});
      !exists) {
    spdlog::warn("schedule {}: not firing: {}", common::display_name(s.name),
                 exists.error().message);
  } else if (auto ok = dispatcher_.enqueue(s.function, payload, request_id, s.qualifier); !ok) {
    // Tried again in a second (in memory only: nothing is stored as fired), not in a busy loop.
    spdlog::error("schedule {}: enqueue failed: {}", common::display_name(s.name), ok.error());
    s.next_ms = now + 1000 * clock_.scale();
    return;
  }
  s.last_fire_ms = now;
  s.next_ms = next_after(s.spec, s.created_ms, now, options_.allow_second_rates);
  if (auto ok = save(s); !ok)
    spdlog::error("schedule {}: storing its next time: {}", common::display_name(s.name),
                  ok.error().message);
}

bool Scheduler::attempt_lease(HeldLease& lease) {
  const auto length = options_.cluster->lease;
  const int64_t token = options_.cluster->fencing_token();
  // The lease runs `length` from the database's now(), which is after `sent`: counting it from
  // `sent` here errs on the side of stopping early.
  const auto sent = SteadyClock::now();
  const auto held = token == 0 ? std::expected<bool, common::StoreError>(false)
                               : hold_cluster_lease(db_, kSchedulerLease, token, length);
  const bool was_holding = lease.held_at(sent);
  bool taken = false;
  if (held && *held) {
    if (!was_holding || lease.token != token)
      scheduler_log()->info("this node fires the schedules (schedule lease, token {})", token);
    taken = !was_holding;
    lease.token = token;
    lease.until = sent + length;
    lease.reported_failure = false;
  } else if (!held) {
    // Unknown: kept until it may have run out, and asked again soon.
    if (!lease.reported_failure)
      scheduler_log()->warn("the schedule lease could not be taken or renewed: {}",
                            held.error().message);
    lease.reported_failure = true;
  } else {
    if (was_holding) scheduler_log()->warn("the schedule lease was lost; this node stops firing");
    lease.token = 0;
    lease.until = {};
  }
  // A holder renews every third of the lease; the others ask more often, to take a dead
  // holder's lease soon after it ran out.
  lease.next_attempt =
      sent + (held && *held ? length / 3
                            : std::min<std::chrono::milliseconds>(length / 3, kTakeOverEvery));
  return taken;
}

void Scheduler::run_shared() {
  // This thread's own: the table as last read while holding the lease, and the lease.
  std::map<std::string, Schedule> cache;
  HeldLease lease;
  SteadyClock::time_point reload_at{};  // the epoch: at once
  while (true) {
    {
      common::MutexLock lock(mu_);
      if (stopping_) break;
      if (reload_requested_) reload_at = {};
      reload_requested_ = false;
    }
    // Taken anew: another node may have fired or the table changed meanwhile.
    if (SteadyClock::now() >= lease.next_attempt && attempt_lease(lease)) reload_at = {};
    const auto now = SteadyClock::now();
    const bool holding = lease.held_at(now);
    std::optional<int64_t> earliest;
    if (holding) {
      if (now >= reload_at) {
        // A failed read (the database away) keeps the last one; the lease runs out unless the
        // database comes back.
        if (auto all = read_all(); all) cache = std::move(*all);
        reload_at = now + kReloadEvery;
      }
      const int64_t now_ms = clock_.now_ms();
      for (auto& [name, s] : cache) {
        if (!s.next_ms || s.spec.value("State", "ENABLED") != "ENABLED") continue;
        if (*s.next_ms <= now_ms && lease.held_at(SteadyClock::now())) {
          if (auto fired = fire_shared(s, now_ms, lease.token); fired) {
            s.last_fire_ms = now_ms;
            s.next_ms = next_after(s.spec, s.created_ms, now_ms, options_.allow_second_rates);
          } else if (fired.error().kind == common::StoreErrorKind::Conflict) {
            // Changed, deleted or fired elsewhere, or the lease is gone: read the table again
            // and ask the database whether this node still holds the lease.
            scheduler_log()->info("schedule {} not fired here: {}", common::display_name(name),
                                  fired.error().message);
            s.next_ms.reset();
            reload_at = {};
            lease.next_attempt = {};
          } else {
            // Tried again in a second, not in a busy loop (a reload may bring it sooner).
            scheduler_log()->error("schedule {}: enqueue failed: {}", common::display_name(name),
                                   fired.error().message);
            s.next_ms = now_ms + 1000 * clock_.scale();
          }
        }
        if (s.next_ms && (!earliest || *s.next_ms < *earliest)) earliest = s.next_ms;
      }
    }
    // Sleeps until the next lease attempt, reload or tick, or until a route asks for a reload.
    const auto steady_now = SteadyClock::now();
    auto wake = lease.next_attempt;
    if (holding) {
      wake = std::min({wake, reload_at, lease.until});
      if (earliest)
        wake = std::min(wake, steady_now + std::chrono::duration_cast<SteadyClock::duration>(
                                               clock_.wall_time_of(*earliest) -
                                               ScheduleClock::WallClock::now()));
    }
    common::MutexLock lock(mu_);
    if (!stopping_ && !reload_requested_ && wake > steady_now)
      changed_.wait_for(lock, wake - steady_now);
  }
  // A stopping holder gives the lease up, so another node takes it at once (one attempt).
  if (lease.held_at(SteadyClock::now())) {
    if (auto released = release_cluster_lease(db_, kSchedulerLease, lease.token); !released)
      scheduler_log()->warn("giving the schedule lease up: {}", released.error().message);
  }
}

std::expected<void, common::StoreError> Scheduler::fire_shared(const Schedule& s, int64_t now,
                                                               int64_t token) {
  const std::optional<int64_t> next =
      next_after(s.spec, s.created_ms, now, options_.allow_second_rates);
  // The compare-and-set: the next time is stored only over the row as it was read, and only
  // under the lease (fenced in the database, not only by this node's clock).
  auto advance = [&]() -> std::expected<void, common::StoreError> {
    auto stmt = db_.prepare(
        "UPDATE schedules SET next_ms = ?1, last_fire_ms = ?2 WHERE name = ?3 AND next_ms = ?4 "
        "AND spec = ?5 AND EXISTS (SELECT 1 FROM cluster_leases WHERE name = ?6 AND "
        "fencing_token = ?7 AND expires_at > now()) RETURNING name");
    if (!stmt) return std::unexpected(stmt.error());
    if (next)
      stmt->bind(1, *next);
    else
      stmt->bind_null(1);
    stmt->bind(2, now).bind(3, s.name).bind(4, *s.next_ms).bind(5, s.spec.dump());
    stmt->bind(6, kSchedulerLease).bind(7, token);
    auto row = stmt->step();
    if (!row) return std::unexpected(row.error());
    if (!*row)
      return std::unexpected(common::StoreError::conflict(
          s.name,
          "it was fired by another node, changed or deleted, or this node's lease ran out"));
    return {};
  };
  if (auto exists = functions_.configuration_of(
          {s.function, s.qualifier.empty() ? std::nullopt : std::optional(s.qualifier)});
      !exists) {
    // As on a single node: the tick passes, logged.
    spdlog::warn("schedule {}: not firing: {}", common::display_name(s.name),
                 exists.error().message);
    return db_.write(advance);
  }
  const std::string request_id = common::new_request_id();
  return dispatcher_.enqueue_with(advance, s.function, event_payload(s, now, request_id),
                                  request_id, s.qualifier);
}

void Scheduler::request_reload() {
  {
    common::MutexLock lock(mu_);
    reload_requested_ = true;
  }
  changed_.notify_all();
}

std::string Scheduler::event_payload(const Schedule& s, int64_t now,
                                     const std::string& request_id) const {
  const json target = s.spec.value("Target", json::object());
  if (target.contains("Input")) return target["Input"].get<std::string>();
  // EventBridge's scheduled event, as a SAM Schedule event delivers it.
  return json{{"version", "0"},
              {"id", request_id},
              {"detail-type", "Scheduled Event"},
              {"source", "aws.events"},
              {"account", std::string(common::account_of(options_.identity, s.name))},
              {"time", iso_time(now)},
              {"region", options_.identity.region},
              {"resources", json::array({schedule_arn(s.name)})},
              {"detail", json::object()}}
      .dump();
}

std::expected<void, common::StoreError> Scheduler::save(const Schedule& s) {
  auto lock = db_.lock();
  auto stmt = db_.prepare(
      "INSERT INTO schedules (name, spec, function, qualifier, created_ms, next_ms, last_fire_ms) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, "
      "function = excluded.function, qualifier = excluded.qualifier, created_ms = "
      "excluded.created_ms, next_ms = excluded.next_ms, last_fire_ms = excluded.last_fire_ms");
  if (!stmt) return std::unexpected(stmt.error());
  stmt->bind(1, s.name).bind(2, s.spec.dump()).bind(3, s.function).bind(4, s.qualifier);
  stmt->bind(5, s.created_ms);
  if (s.next_ms)
    stmt->bind(6, *s.next_ms);
  else
    stmt->bind_null(6);
  stmt->bind(7, s.last_fire_ms);
  return stmt->run();
}

std::string Scheduler::schedule_arn(const std::string& name) const {
  return fmt::format("arn:aws:scheduler:{}:{}:schedule/default/{}", options_.identity.region,
                     common::account_of(options_.identity, name), common::display_name(name));
}

json Scheduler::schedule_json(const Schedule& s) const {
  json out = s.spec;
  out["Name"] = common::display_name(s.name);
  out["Arn"] = schedule_arn(s.name);
  out["GroupName"] = "default";
  out["CreationDate"] = iso_time(s.created_ms);
  out["NextInvocation"] = s.next_ms ? json(iso_time(*s.next_ms)) : json();
  out["LastInvocation"] = s.last_fire_ms ? json(iso_time(s.last_fire_ms)) : json();
  return out;
}

api::HttpResponse Scheduler::put(const api::HttpRequest& request, const std::string& name,
                                 const std::string& request_id) {
  auto fail = [&](const ApiError& e) { return api::to_http(e, request_id); };
  if (!valid_schedule_name(name))
    return fail(ApiError::invalid_parameter(
        "A schedule's name is 1-64 of letters, digits, '-', '_' and '.': " + name));
  auto body = api::parse_json_object_body(request);
  if (!body) return fail(body.error());
  auto expression_text = api::opt_string(*body, "ScheduleExpression");
  if (!expression_text) return fail(expression_text.error());
  if (!*expression_text) return fail(ApiError::invalid_parameter("ScheduleExpression is required"));
  if (auto parsed = parse_schedule_expression(**expression_text, options_.allow_second_rates);
      !parsed)
    return fail(ApiError::invalid_parameter(parsed.error()));
  auto zone = api::opt_string(*body, "ScheduleExpressionTimezone");
  if (!zone) return fail(zone.error());
  if (*zone && !valid_time_zone(**zone))
    return fail(ApiError::invalid_parameter("Unknown ScheduleExpressionTimezone: " + **zone));
  auto state = api::opt_string(*body, "State");
  if (!state) return fail(state.error());
  if (*state && **state != "ENABLED" && **state != "DISABLED")
    return fail(ApiError::invalid_parameter("State must be ENABLED or DISABLED"));
  auto description = api::opt_string(*body, "Description");
  if (!description) return fail(description.error());
  auto target = api::opt_object(*body, "Target");
  if (!target) return fail(target.error());
  if (!*target) return fail(ApiError::invalid_parameter("Target is required"));
  auto arn = api::opt_string(**target, "Arn");
  if (!arn) return fail(arn.error());
  if (!*arn) return fail(ApiError::invalid_parameter("Target.Arn is required: a function's ARN"));
  auto input = api::opt_string(**target, "Input");
  if (!input) return fail(input.error());
  if (*input && json::parse(**input, nullptr, false).is_discarded())
    return fail(ApiError::invalid_parameter("Target.Input must be JSON text (the event)"));
  auto function = api::resolve_for_caller(**arn, "", request, options_.identity);
  if (!function) return fail(function.error());
  if (auto exists = functions_.configuration_of(*function); !exists) return fail(exists.error());

  Schedule s;
  s.name = common::scoped_name(request.account, name);
  s.spec = {{"ScheduleExpression", **expression_text},
            {"ScheduleExpressionTimezone", zone->value_or("UTC")},
            {"State", state->value_or("ENABLED")},
            {"Target", {{"Arn", **arn}}}};
  if (*input) s.spec["Target"]["Input"] = **input;
  if (*description) s.spec["Description"] = **description;
  s.function = function->name;
  s.qualifier = function->qualifier.value_or("");
  s.created_ms = clock_.now_ms();
  s.next_ms = next_after(s.spec, s.created_ms, s.created_ms, options_.allow_second_rates);
  if (shared()) {
    if (auto ok = save(s); !ok)
      return fail(ApiError::service("Storing the schedule failed: " + ok.error().message));
    request_reload();
    return api::json_response(200, schedule_json(s), request_id);
  }
  {
    common::MutexLock lock(mu_);
    if (auto ok = save(s); !ok)
      return fail(ApiError::service("Storing the schedule failed: " + ok.error().message));
    schedules_[s.name] = s;
  }
  changed_.notify_all();
  return api::json_response(200, schedule_json(s), request_id);
}

api::HttpResponse Scheduler::get(const api::HttpRequest& request, const std::string& name,
                                 const std::string& request_id) {
  if (shared()) {
    auto found = read_one(common::scoped_name(request.account, name));
    if (!found)
      return api::to_http(
          ApiError::service("Reading the schedule failed: " + found.error().message), request_id);
    if (!*found) return api::to_http(schedule_not_found(name), request_id);
    return api::json_response(200, schedule_json(**found), request_id);
  }
  common::MutexLock lock(mu_);
  auto it = schedules_.find(common::scoped_name(request.account, name));
  if (it == schedules_.end()) return api::to_http(schedule_not_found(name), request_id);
  return api::json_response(200, schedule_json(it->second), request_id);
}

api::HttpResponse Scheduler::list(const api::HttpRequest& request, const std::string& request_id) {
  json items = json::array();
  if (shared()) {
    auto all = read_all();
    if (!all)
      return api::to_http(ApiError::service("Reading the schedules failed: " + all.error().message),
                          request_id);
    for (const auto& [name, s] : *all)
      if (common::in_account(name, request.account)) items.push_back(schedule_json(s));
    return api::json_response(200, {{"Schedules", std::move(items)}}, request_id);
  }
  common::MutexLock lock(mu_);
  for (const auto& [name, s] : schedules_)
    if (common::in_account(name, request.account)) items.push_back(schedule_json(s));
  return api::json_response(200, {{"Schedules", std::move(items)}}, request_id);
}

api::HttpResponse Scheduler::remove(const api::HttpRequest& request, const std::string& name,
                                    const std::string& request_id) {
  const std::string scoped = common::scoped_name(request.account, name);
  if (shared()) {
    std::expected<bool, common::StoreError> deleted;
    {
      auto db_lock = db_.lock();
      auto stmt = db_.prepare("DELETE FROM schedules WHERE name = ?1 RETURNING name");
      deleted = stmt ? stmt->bind(1, scoped).step()
                     : std::expected<bool, common::StoreError>(std::unexpected(stmt.error()));
    }
    if (!deleted)
      return api::to_http(
          ApiError::service("Deleting the schedule failed: " + deleted.error().message),
          request_id);
    if (!*deleted) return api::to_http(schedule_not_found(name), request_id);
    request_reload();
    return api::no_content_response(request_id);
  }
  {
    common::MutexLock lock(mu_);
    if (!schedules_.contains(scoped)) return api::to_http(schedule_not_found(name), request_id);
    auto db_lock = db_.lock();
    auto stmt = db_.prepare("DELETE FROM schedules WHERE name = ?1");
    if (!stmt || !stmt->bind(1, scoped).run())
      return api::to_http(ApiError::service("Deleting the schedule failed"), request_id);
    schedules_.erase(scoped);
  }
  changed_.notify_all();
  return api::no_content_response(request_id);
}

}  // namespace runtimed
