// The migrations and their runner (see schema_migrations.hpp).
#include "runtimed/cluster/schema_migrations.hpp"

#include <string>

#include "common/module_logger.hpp"
#include "runtimed/cluster/pg_transaction.hpp"

namespace cluster {

namespace {

// pg_advisory_xact_lock's key for "migrating runtimed's schema": the bytes of "runtimed" as a
// bigint, unlikely to meet another application's key in a shared database.
constexpr int64_t kMigrationLockKey = 0x72756e74696d6564;

}  // namespace

const std::vector<Migration>& schema_migrations() {
  static const std::vector<Migration> migrations = {
      {1,
       "cluster membership: nodes with a lease and a fencing token",
       {
           // Fencing tokens: one sequence for all nodes, so a token is never handed out twice.
           "CREATE SEQUENCE cluster_fencing_tokens",
           "CREATE TABLE cluster_nodes ("
           " node_id text PRIMARY KEY,"
           " address text NOT NULL,"
           " started_at timestamptz NOT NULL,"
           " heartbeat_at timestamptz NOT NULL,"
           " lease_expires_at timestamptz NOT NULL,"
           " fencing_token bigint NOT NULL,"
           " left_at timestamptz,"
           " in_flight integer NOT NULL DEFAULT 0)",
       }},
  };
  return migrations;
}

int latest_schema_version() { return schema_migrations().back().version; }

std::expected<std::vector<int>, PgError> migrate(PgConnection& connection) {
  auto transaction = PgTransaction::begin(connection);
  if (!transaction) return std::unexpected(transaction.error());
  // Held until COMMIT or ROLLBACK: a second node waits here, then sees the versions applied.
  if (auto locked =
          connection.exec("SELECT pg_advisory_xact_lock($1)", {std::to_string(kMigrationLockKey)});
      !locked)
    return std::unexpected(locked.error());
  if (auto made = connection.exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
                                  " version integer PRIMARY KEY,"
                                  " applied_at timestamptz NOT NULL DEFAULT now())");
      !made)
    return std::unexpected(made.error());
  auto current = connection.exec("SELECT coalesce(max(version), 0) FROM schema_migrations");
  if (!current) return std::unexpected(current.error());
  const int64_t applied_version = current->integer(0, 0);
  if (applied_version > latest_schema_version()) {
    common::module_logger("cluster")->warn(
        "the cluster database's schema is at version {}, newer than this runtimed's {}",
        applied_version, latest_schema_version());
  }
  std::vector<int> applied;
  for (const Migration& m : schema_migrations()) {
    if (m.version <= applied_version) continue;
    for (std::string_view statement : m.statements) {
      if (auto done = connection.exec(statement); !done) {
        PgError error = done.error();
        error.message = "migration " + std::to_string(m.version) + ": " + error.message;
        return std::unexpected(std::move(error));
      }
    }
    if (auto recorded = connection.exec("INSERT INTO schema_migrations (version) VALUES ($1)",
                                        {std::to_string(m.version)});
        !recorded)
      return std::unexpected(recorded.error());
    applied.push_back(m.version);
  }
  if (auto committed = transaction->commit(); !committed) return std::unexpected(committed.error());
  for (int version : applied)
    common::module_logger("cluster")->info("cluster schema: applied migration {}", version);
  return applied;
}

}  // namespace cluster
