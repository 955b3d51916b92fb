// Reserved concurrency and event-invoke configs in SQLite (see function_settings.hpp).
#include "runtimed/store/function_settings.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "api/function_name.hpp"
#include "common/function_config.hpp"

namespace runtimed {

using common::StoreError;
using nlohmann::json;

namespace {

// A database failure, logged with SQLite's message; the caller sees only that it failed.
StoreError db_error(const std::string& what, const StoreError& error) {
  spdlog::error("function settings: {}: {}", what, error.message);
  return StoreError::internal("Internal error while accessing the function database");
}

}  // namespace

std::expected<void, StoreError> FunctionSettings::require_function(const std::string& name) {
  if (auto config = functions_.get(name); !config) return std::unexpected(config.error());
  return {};
}

std::expected<std::optional<int>, StoreError> FunctionSettings::reserved(const std::string& name) {
  if (auto ok = require_function(name); !ok) return std::unexpected(ok.error());
  auto& db = functions_.db();
  auto lock = db.lock();
  auto stmt = db.prepare("SELECT reserved FROM function_concurrency WHERE name = ?1");
  if (!stmt) return std::unexpected(db_error("reserved", stmt.error()));
  auto row = stmt->bind(1, name).step();
  if (!row) return std::unexpected(db_error("reserved", row.error()));
  if (!*row) return std::nullopt;
  return static_cast<int>(stmt->column_int64(0));
}

std::expected<void, StoreError> FunctionSettings::put_reserved(const std::string& name,
                                                               int reserved) {
  if (auto ok = require_function(name); !ok) return ok;
  {
    auto& db = functions_.db();
    auto lock = db.lock();
    auto tx = Transaction::begin(db);
    if (!tx) return std::unexpected(db_error("put reserved", tx.error()));
    auto others =
        db.prepare("SELECT COALESCE(SUM(reserved), 0) FROM function_concurrency WHERE name != ?1");
    if (!others) return std::unexpected(db_error("put reserved", others.error()));
    auto row = others->bind(1, name).step();
    if (!row || !*row)
      return std::unexpected(db_error("put reserved", StoreError::internal("no sum")));
    const int64_t total = others->column_int64(0) + reserved;
    // Provisioned concurrency counts against the reservation (as Lambda's).
    auto provisioned = db.prepare(
        "SELECT COALESCE(SUM(requested), 0) FROM provisioned_concurrency WHERE name = ?1");
    if (!provisioned) return std::unexpected(db_error("put reserved", provisioned.error()));
    auto sum = provisioned->bind(1, name).step();
    if (!sum || !*sum)
      return std::unexpected(db_error("put reserved", StoreError::internal("no sum")));
    if (provisioned->column_int64(0) > reserved)
      return std::unexpected(StoreError::invalid_value(fmt::format(
          "Specified ReservedConcurrentExecutions for function is less than the function's "
          "provisioned concurrency [{}].",
          provisioned->column_int64(0))));
    if (static_cast<int64_t>(limit_) - total < static_cast<int64_t>(min_unreserved_))
      return std::unexpected(StoreError::invalid_value(
          fmt::format("Specified ReservedConcurrentExecutions for function decreases account's "
                      "UnreservedConcurrentExecution below its minimum value of [{}].",
                      min_unreserved_)));
    auto upsert = db.prepare(
        "INSERT INTO function_concurrency (name, reserved) VALUES (?1, ?2) "
        "ON CONFLICT (name) DO UPDATE SET reserved = excluded.reserved");
    if (!upsert) return std::unexpected(db_error("put reserved", upsert.error()));
    if (auto ok = upsert->bind(1, name).bind(2, int64_t{reserved}).run(); !ok)
      return std::unexpected(db_error("put reserved", ok.error()));
    if (auto ok = tx->commit(); !ok) return std::unexpected(db_error("put reserved", ok.error()));
  }
  if (on_reserved_changed) on_reserved_changed(name, reserved);
  return {};
}

std::expected<void, StoreError> FunctionSettings::delete_reserved(const std::string& name) {
  if (auto ok = require_function(name); !ok) return ok;
  {
    auto& db = functions_.db();
    auto lock = db.lock();
    auto stmt = db.prepare("DELETE FROM function_concurrency WHERE name = ?1");
    if (!stmt) return std::unexpected(db_error("delete reserved", stmt.error()));
    if (auto ok = stmt->bind(1, name).run(); !ok)
      return std::unexpected(db_error("delete reserved", ok.error()));
  }
  if (on_reserved_changed) on_reserved_changed(name, std::nullopt);
  return {};
}

std::expected<api::AccountSettings, StoreError> FunctionSettings::account_settings() {
  auto& db = functions_.db();
  auto lock = db.lock();
  auto stmt = db.prepare(
      "SELECT (SELECT COALESCE(SUM(reserved), 0) FROM function_concurrency), "
      "(SELECT COUNT(*) FROM functions), "
      "(SELECT COALESCE(SUM(" +
      std::string(db.dialect() == SqlDialect::Sqlite ? "json_extract(config, '$.code_size')"
                                                     : "(config::json ->> 'code_size')::bigint") +
      "), 0) FROM functions)");
  if (!stmt) return std::unexpected(db_error("account settings", stmt.error()));
  auto row = stmt->step();
  if (!row || !*row)
    return std::unexpected(db_error("account settings", StoreError::internal("no row")));
  api::AccountSettings s;
  s.concurrent_executions = static_cast<int64_t>(limit_);
  if (host_limits) {
    s.host = host_limits();
    // No more invocations run at once than environments of the smallest size fit the budget.
    s.concurrent_executions =
        std::min(s.host->concurrency_limit, s.host->memory_budget_mb / common::kMinMemoryMb);
  }
  s.unreserved_concurrent_executions =
      std::max<int64_t>(0, s.concurrent_executions - stmt->column_int64(0));
  s.function_count = stmt->column_int64(1);
  s.total_code_size = stmt->column_int64(2);
  return s;
}

namespace {

api::EventInvokeConfig config_from_json(const std::string& text) {
  const json j = json::parse(text, nullptr, false);
  api::EventInvokeConfig c;
  if (!j.is_object()) return c;
  if (j.contains("max_retry")) c.maximum_retry_attempts = j["max_retry"].get<int>();
  if (j.contains("max_age")) c.maximum_event_age_s = j["max_age"].get<int>();
  if (j.contains("on_success")) c.on_success = j["on_success"].get<std::string>();
  if (j.contains("on_failure")) c.on_failure = j["on_failure"].get<std::string>();
  c.last_modified = j.value("last_modified", 0.0);
  return c;
}

}  // namespace

std::expected<std::optional<api::EventInvokeConfig>, StoreError> FunctionSettings::get(
    const std::string& name, const std::string& qualifier) {
  if (auto ok = require_function(name); !ok) return std::unexpected(ok.error());
  auto& db = functions_.db();
  auto lock = db.lock();
  auto stmt =
      db.prepare("SELECT config FROM event_invoke_configs WHERE name = ?1 AND qualifier = ?2");
  if (!stmt) return std::unexpected(db_error("event invoke config", stmt.error()));
  auto row = stmt->bind(1, name).bind(2, qualifier).step();
  if (!row) return std::unexpected(db_error("event invoke config", row.error()));
  if (!*row) return std::nullopt;
  return config_from_json(stmt->column_text(0));
}

std::expected<std::vector<std::pair<std::string, api::EventInvokeConfig>>, StoreError>
FunctionSettings::list(const std::string& name) {
  if (auto ok = require_function(name); !ok) return std::unexpected(ok.error());
  auto& db = functions_.db();
  auto lock = db.lock();
  auto stmt = db.prepare(
      "SELECT qualifier, config FROM event_invoke_configs WHERE name = ?1 ORDER BY qualifier");
  if (!stmt) return std::unexpected(db_error("event invoke configs", stmt.error()));
  stmt->bind(1, name);
  std::vector<std::pair<std::string, api::EventInvokeConfig>> out;
  for (;;) {
    auto row = stmt->step();
    if (!row) return std::unexpected(db_error("event invoke configs", row.error()));
    if (!*row) break;
    out.emplace_back(stmt->column_text(0), config_from_json(stmt->column_text(1)));
  }
  return out;
}

std::expected<void, StoreError> FunctionSettings::put(const std::string& name,
                                                      const std::string& qualifier,
                                                      const api::EventInvokeConfig& c) {
  if (auto ok = require_function(name); !ok) return ok;
  json j = {{"last_modified", c.last_modified}};
  if (c.maximum_retry_attempts) j["max_retry"] = *c.maximum_retry_attempts;
  if (c.maximum_event_age_s) j["max_age"] = *c.maximum_event_age_s;
  if (c.on_success) j["on_success"] = *c.on_success;
  if (c.on_failure) j["on_failure"] = *c.on_failure;
  auto& db = functions_.db();
  auto lock = db.lock();
  auto stmt = db.prepare(
      "INSERT INTO event_invoke_configs (name, qualifier, config) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (name, qualifier) DO UPDATE SET config = excluded.config");
  if (!stmt) return std::unexpected(db_error("put event invoke config", stmt.error()));
  if (auto ok = stmt->bind(1, name).bind(2, qualifier).bind(3, j.dump()).run(); !ok)
    return std::unexpected(db_error("put event invoke config", ok.error()));
  return {};
}

std::expected<void, StoreError> FunctionSettings::remove(const std::string& name,
                                                         const std::string& qualifier) {
  auto& db = functions_.db();
  auto lock = db.lock();
  auto stmt = db.prepare("DELETE FROM event_invoke_configs WHERE name = ?1 AND qualifier = ?2");
  if (!stmt) return std::unexpected(db_error("delete event invoke config", stmt.error()));
  if (auto ok = stmt->bind(1, name).bind(2, qualifier).run(); !ok)
    return std::unexpected(db_error("delete event invoke config", ok.error()));
  return {};
}

std::expected<std::map<std::string, int>, std::string> FunctionSettings::all_reserved() {
  auto& db = functions_.db();
  auto lock = db.lock();
  auto stmt = db.prepare("SELECT name, reserved FROM function_concurrency");
  if (!stmt) return std::unexpected(stmt.error().message);
  std::map<std::string, int> out;
  while (true) {
    auto row = stmt->step();
    if (!row) return std::unexpected(row.error().message);
    if (!*row) return out;
    out[stmt->column_text(0)] = static_cast<int>(stmt->column_int64(1));
  }
}

}  // namespace runtimed

namespace runtimed {

namespace {

bool is_version(const std::string& qualifier) { return api::is_version_qualifier(qualifier); }

}  // namespace

std::expected<std::optional<api::ProvisionedConcurrencyConfig>, StoreError>
FunctionSettings::get_provisioned(const std::string& name, const std::string& qualifier) {
  auto& db = functions_.db();
  auto lock = db.lock();
  auto stmt = db.prepare(
      "SELECT requested, last_modified FROM provisioned_concurrency "
      "WHERE name = ?1 AND qualifier = ?2");
  if (!stmt) return std::unexpected(db_error("get provisioned", stmt.error()));
  auto row = stmt->bind(1, name).bind(2, qualifier).step();
  if (!row) return std::unexpected(db_error("get provisioned", row.error()));
  if (!*row) return std::nullopt;
  return api::ProvisionedConcurrencyConfig{qualifier, static_cast<int>(stmt->column_int64(0)),
                                           stmt->column_text(1)};
}

std::expected<std::vector<api::ProvisionedConcurrencyConfig>, StoreError>
FunctionSettings::list_provisioned(const std::string& name) {
  auto& db = functions_.db();
  auto lock = db.lock();
  auto stmt = db.prepare(
      "SELECT qualifier, requested, last_modified FROM provisioned_concurrency WHERE name = ?1 "
      "ORDER BY qualifier");
  if (!stmt) return std::unexpected(db_error("list provisioned", stmt.error()));
  stmt->bind(1, name);
  std::vector<api::ProvisionedConcurrencyConfig> out;
  for (;;) {
    auto row = stmt->step();
    if (!row) return std::unexpected(db_error("list provisioned", row.error()));
    if (!*row) break;
    out.push_back(
        {stmt->column_text(0), static_cast<int>(stmt->column_int64(1)), stmt->column_text(2)});
  }
  return out;
}

std::expected<api::ProvisionedConcurrencyConfig, StoreError> FunctionSettings::put_provisioned(
    const std::string& name, const std::string& qualifier, const std::string& version,
    int requested) {
  // Not on an alias and on the version it points to at once (aliases are read before the
  // database lock: the store's alias map has its own).
  auto existing = list_provisioned(name);
  if (!existing) return std::unexpected(existing.error());
  for (const auto& other : *existing) {
    if (other.qualifier == qualifier) continue;
    std::string other_version = other.qualifier;
    if (!is_version(other.qualifier)) {
      auto alias = functions_.get_alias(name, other.qualifier);
      if (!alias) continue;
      other_version = alias->routing.function_version;
    }
    const bool clash = is_version(qualifier)
                           ? (!is_version(other.qualifier) && other_version == qualifier)
                           : other.qualifier == version;
    if (clash)
      return std::unexpected(StoreError::conflict(
          name + ":" + qualifier,
          fmt::format("Provisioned Concurrency Config already exists for {} {}, which {} "
                      "version {}. Remove it before configuring {}.",
                      is_version(other.qualifier) ? "version" : "alias", other.qualifier,
                      is_version(other.qualifier) ? "is" : "points to", version, qualifier)));
  }
  const std::string now = common::lambda_timestamp(std::chrono::system_clock::now());
  {
    auto& db = functions_.db();
    auto lock = db.lock();
    auto tx = Transaction::begin(db);
    if (!tx) return std::unexpected(db_error("put provisioned", tx.error()));
    // What it counts against: the function's reservation, else what the unreserved pool keeps
    // above its minimum once every unreserved function's provisioned concurrency is taken.
    auto sums = db.prepare(
        "SELECT (SELECT reserved FROM function_concurrency WHERE name = ?1), "
        "(SELECT COALESCE(SUM(requested), 0) FROM provisioned_concurrency "
        "   WHERE name = ?1 AND qualifier != ?2), "
        "(SELECT COALESCE(SUM(reserved), 0) FROM function_concurrency), "
        "(SELECT COALESCE(SUM(p.requested), 0) FROM provisioned_concurrency p "
        "   WHERE p.name != ?1 AND p.name NOT IN (SELECT name FROM function_concurrency))");
    if (!sums) return std::unexpected(db_error("put provisioned", sums.error()));
    auto row = sums->bind(1, name).bind(2, qualifier).step();
    if (!row || !*row)
      return std::unexpected(db_error("put provisioned", StoreError::internal("no sums")));
    const bool has_reservation = !sums->column_is_null(0);
    const int64_t function_total = sums->column_int64(1) + requested;
    if (has_reservation && function_total > sums->column_int64(0))
      return std::unexpected(StoreError::invalid_value(
          "Requested Provisioned Concurrency should not be greater than the "
          "reservedConcurrentExecution for function"));
    if (!has_reservation) {
      const int64_t unreserved = static_cast<int64_t>(limit_) - sums->column_int64(2);
      if (unreserved - sums->column_int64(3) - function_total <
          static_cast<int64_t>(min_unreserved_))
        return std::unexpected(StoreError::invalid_value(
            fmt::format("Specified ConcurrentExecutions for function decreases account's "
                        "UnreservedConcurrentExecution below its minimum value of [{}].",
                        min_unreserved_)));
    }
    auto upsert = db.prepare(
        "INSERT INTO provisioned_concurrency (name, qualifier, requested, last_modified) "
        "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (name, qualifier) DO UPDATE SET "
        "requested = excluded.requested, last_modified = excluded.last_modified");
    if (!upsert) return std::unexpected(db_error("put provisioned", upsert.error()));
    if (auto ok =
            upsert->bind(1, name).bind(2, qualifier).bind(3, int64_t{requested}).bind(4, now).run();
        !ok)
      return std::unexpected(db_error("put provisioned", ok.error()));
    if (auto ok = tx->commit(); !ok)
      return std::unexpected(db_error("put provisioned", ok.error()));
  }
  if (on_provisioned_changed) on_provisioned_changed(name, qualifier, requested);
  return api::ProvisionedConcurrencyConfig{qualifier, requested, now};
}

std::expected<bool, StoreError> FunctionSettings::delete_provisioned(const std::string& name,
                                                                     const std::string& qualifier) {
  bool deleted = false;
  {
    auto& db = functions_.db();
    auto lock = db.lock();
    auto stmt = db.prepare(
        "DELETE FROM provisioned_concurrency WHERE name = ?1 AND qualifier = ?2 "
        "RETURNING qualifier");
    if (!stmt) return std::unexpected(db_error("delete provisioned", stmt.error()));
    auto row = stmt->bind(1, name).bind(2, qualifier).step();
    if (!row) return std::unexpected(db_error("delete provisioned", row.error()));
    deleted = *row;
    if (deleted) {
      if (auto done = stmt->run(); !done)
        return std::unexpected(db_error("delete provisioned", done.error()));
    }
  }
  if (deleted && on_provisioned_changed) on_provisioned_changed(name, qualifier, 0);
  return deleted;
}

std::expected<std::map<std::pair<std::string, std::string>, int>, std::string>
FunctionSettings::all_provisioned() {
  auto& db = functions_.db();
  auto lock = db.lock();
  auto stmt = db.prepare("SELECT name, qualifier, requested FROM provisioned_concurrency");
  if (!stmt) return std::unexpected(stmt.error().message);
  std::map<std::pair<std::string, std::string>, int> out;
  for (;;) {
    auto row = stmt->step();
    if (!row) return std::unexpected(row.error().message);
    if (!*row) break;
    out[{stmt->column_text(0), stmt->column_text(1)}] = static_cast<int>(stmt->column_int64(2));
  }
  return out;
}

}  // namespace runtimed
