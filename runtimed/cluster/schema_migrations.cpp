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
      {2,
       "the shared catalog: functions, versions, aliases, layers, settings, stacks, code blobs",
       {
           // The same tables and columns as the SQLite schema's (runtimed/store/state_db.cpp),
           // so the stores' SQL runs on both; configurations are JSON text as there.
           R"sql(CREATE TABLE functions (name text PRIMARY KEY, config text NOT NULL,
             code_dir_key text NOT NULL, last_version bigint NOT NULL DEFAULT 0, revision_id
             text NOT NULL DEFAULT ''))sql",
           R"sql(CREATE INDEX functions_code_dir_key ON functions (code_dir_key))sql",
           R"sql(CREATE TABLE function_versions (name text NOT NULL, version bigint NOT NULL,
             config text NOT NULL, code_dir_key text NOT NULL, PRIMARY KEY (name, version)))sql",
           R"sql(CREATE INDEX function_versions_code_dir_key ON function_versions
             (code_dir_key))sql",
           R"sql(CREATE TABLE function_aliases (name text NOT NULL, alias text NOT NULL,
             config text NOT NULL, PRIMARY KEY (name, alias)))sql",
           R"sql(CREATE TABLE layers (name text PRIMARY KEY, last_version bigint NOT NULL))sql",
           R"sql(CREATE TABLE layer_versions (name text NOT NULL, version bigint NOT NULL,
             config text NOT NULL, code_dir_key text NOT NULL, PRIMARY KEY (name, version)))sql",
           R"sql(CREATE TABLE function_concurrency (name text PRIMARY KEY, reserved integer
             NOT NULL))sql",
           R"sql(CREATE TABLE provisioned_concurrency (name text NOT NULL, qualifier text NOT
             NULL, requested integer NOT NULL, last_modified text NOT NULL, PRIMARY KEY (name,
             qualifier)))sql",
           R"sql(CREATE TABLE event_invoke_configs (name text NOT NULL, qualifier text NOT
             NULL, config text NOT NULL, PRIMARY KEY (name, qualifier)))sql",
           R"sql(CREATE TABLE stacks (name text PRIMARY KEY, record text NOT NULL, updated_ms
             bigint NOT NULL))sql",
           // Code zips by their hex SHA-256: a node lacking a function's code fetches it here
           // and unpacks it into its own code store.
           R"sql(CREATE TABLE code_blobs (key text PRIMARY KEY, zip bytea NOT NULL, created_at
             timestamptz NOT NULL DEFAULT now()))sql",
           // Every change to a table whose rows nodes cache is announced on runtimed_catalog as
           // {"table": …, the row's key columns}: each node drops what it cached.
           R"sql(CREATE FUNCTION runtimed_catalog_changed() RETURNS trigger LANGUAGE plpgsql AS $$
             DECLARE row_json jsonb;
             BEGIN
               IF TG_OP = 'DELETE' THEN row_json := to_jsonb(OLD);
               ELSE row_json := to_jsonb(NEW);
               END IF;
               PERFORM pg_notify('runtimed_catalog',
                 (jsonb_build_object('table', TG_TABLE_NAME)
                  || (row_json - 'config' - 'record' - 'code_dir_key' - 'revision_id'))::text);
               RETURN NULL;
             END $$)sql",
           R"sql(CREATE TRIGGER functions_changed AFTER INSERT OR UPDATE OR DELETE ON
             functions FOR EACH ROW EXECUTE FUNCTION runtimed_catalog_changed())sql",
           R"sql(CREATE TRIGGER function_versions_changed AFTER INSERT OR UPDATE OR DELETE ON
             function_versions FOR EACH ROW EXECUTE FUNCTION runtimed_catalog_changed())sql",
           R"sql(CREATE TRIGGER function_aliases_changed AFTER INSERT OR UPDATE OR DELETE ON
             function_aliases FOR EACH ROW EXECUTE FUNCTION runtimed_catalog_changed())sql",
           R"sql(CREATE TRIGGER function_concurrency_changed AFTER INSERT OR UPDATE OR DELETE
             ON function_concurrency FOR EACH ROW EXECUTE FUNCTION runtimed_catalog_changed())sql",
           R"sql(CREATE TRIGGER provisioned_concurrency_changed AFTER INSERT OR UPDATE OR
             DELETE ON provisioned_concurrency FOR EACH ROW EXECUTE FUNCTION
             runtimed_catalog_changed())sql",
       }},
      {3,
       "async events and local message queues, shared: events claimed under fencing tokens",
       {
           // As in SQLite (runtimed/store/state_db.cpp); claim_token is the fencing token of the
           // node whose attempt holds an in-flight event.
           R"sql(CREATE TABLE async_events (id bigserial PRIMARY KEY, request_id text NOT
             NULL, function text NOT NULL, payload text NOT NULL, enqueued_ms bigint NOT NULL,
             next_ms bigint NOT NULL, state text NOT NULL CHECK (state IN ('queued',
             'in_flight')), invoke_count integer NOT NULL DEFAULT 0, function_errors integer
             NOT NULL DEFAULT 0, throttles integer NOT NULL DEFAULT 0, last_status integer NOT
             NULL DEFAULT 0, last_error text NOT NULL DEFAULT '', qualifier text NOT NULL
             DEFAULT '', claim_token bigint NOT NULL DEFAULT 0))sql",
           R"sql(CREATE INDEX async_events_due ON async_events (state, function, next_ms))sql",
           R"sql(CREATE TABLE queues (name text PRIMARY KEY, arn text NOT NULL, created_ms
             bigint NOT NULL, visibility_s integer NOT NULL DEFAULT 30, redrive_queue text,
             max_receive integer NOT NULL DEFAULT 0))sql",
           R"sql(CREATE TABLE queue_messages (id bigserial PRIMARY KEY, queue text NOT NULL
             REFERENCES queues (name) ON DELETE CASCADE, message_id text NOT NULL, body text
             NOT NULL, attributes text NOT NULL, source_function text, sent_ms bigint NOT
             NULL, visible_ms bigint NOT NULL, receipt_handle text, receive_count integer NOT
             NULL DEFAULT 0))sql",
           R"sql(CREATE INDEX queue_messages_visible ON queue_messages (queue, visible_ms))sql",
           R"sql(CREATE INDEX queue_messages_handle ON queue_messages (receipt_handle))sql",
       }},
      {4,
       "schedules, shared, and named leases (the schedule lease: one node fires them)",
       {
           // As in SQLite (runtimed/store/state_db.cpp): the spec as given, the function it
           // invokes, when it was made, its next fire time (NULL: never again).
           R"sql(CREATE TABLE schedules (name text PRIMARY KEY, spec text NOT NULL, function
             text NOT NULL, qualifier text NOT NULL, created_ms bigint NOT NULL, next_ms bigint,
             last_fire_ms bigint NOT NULL DEFAULT 0))sql",
           // A lease on one cluster-wide duty ("scheduler"): held under a node's fencing token
           // until expires_at, in the database's time (runtimed/store/cluster_lease.cpp).
           R"sql(CREATE TABLE cluster_leases (name text PRIMARY KEY, fencing_token bigint NOT
             NULL, expires_at timestamptz NOT NULL))sql",
       }},
      {5,
       "async events wake every node: a NOTIFY on runtimed_async when events are inserted",
       {
           // One per statement, and delivered at commit: a node's group commit of many events
           // wakes the others once, and only for events that are really there.
           R"sql(CREATE FUNCTION runtimed_async_enqueued() RETURNS trigger LANGUAGE plpgsql AS
             $$ BEGIN PERFORM pg_notify('runtimed_async', ''); RETURN NULL; END $$)sql",
           R"sql(CREATE TRIGGER async_events_enqueued AFTER INSERT ON async_events FOR EACH
             STATEMENT EXECUTE FUNCTION runtimed_async_enqueued())sql",
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
