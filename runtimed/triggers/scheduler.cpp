// Schedules: the store, the routes and the firing thread (see scheduler.hpp).
#include "runtimed/triggers/scheduler.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "api/function_name.hpp"
#include "api/json_body.hpp"
#include "api/json_response.hpp"
#include "common/account_scope.hpp"
#include "common/ids.hpp"
#include "runtimed/async/async_policy.hpp"

namespace runtimed {

namespace {

using api::ApiError;
using nlohmann::json;

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
  {
    common::MutexLock lock(mu_);
    auto db_lock = db_.lock();
    auto rows = db_.prepare(
        "SELECT name, spec, function, qualifier, created_ms, next_ms, last_fire_ms FROM schedules");
    if (!rows) return std::unexpected(rows.error().message);
    while (true) {
      auto row = rows->step();
      if (!row) return std::unexpected(row.error().message);
      if (!*row) break;
      Schedule s;
      s.name = rows->column_text(0);
      s.spec = json::parse(rows->column_text(1), nullptr, false);
      s.function = rows->column_text(2);
      s.qualifier = rows->column_text(3);
      s.created_ms = rows->column_int64(4);
      if (!rows->column_is_null(5)) s.next_ms = rows->column_int64(5);
      s.last_fire_ms = rows->column_int64(6);
      schedules_[s.name] = std::move(s);
    }
  }
  thread_ = std::thread([this] { run(); });
  return {};
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
  const json& target = s.spec["Target"];
  std::string payload;
  if (target.contains("Input")) {
    payload = target["Input"].get<std::string>();
  } else {
    // EventBridge's scheduled event, as a SAM Schedule event delivers it.
    payload = json{{"version", "0"},
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
  common::MutexLock lock(mu_);
  auto it = schedules_.find(common::scoped_name(request.account, name));
  if (it == schedules_.end()) return api::to_http(schedule_not_found(name), request_id);
  return api::json_response(200, schedule_json(it->second), request_id);
}

api::HttpResponse Scheduler::list(const api::HttpRequest& request, const std::string& request_id) {
  json items = json::array();
  common::MutexLock lock(mu_);
  for (const auto& [name, s] : schedules_)
    if (common::in_account(name, request.account)) items.push_back(schedule_json(s));
  return api::json_response(200, {{"Schedules", std::move(items)}}, request_id);
}

api::HttpResponse Scheduler::remove(const api::HttpRequest& request, const std::string& name,
                                    const std::string& request_id) {
  const std::string scoped = common::scoped_name(request.account, name);
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
