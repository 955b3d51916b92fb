#include "runtimed/store/state_db.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "common/module_logger.hpp"
#include "runtimed/store/sqlite_backend.hpp"

namespace runtimed {

namespace {

std::shared_ptr<spdlog::logger> logger() {
  static const auto log = common::module_logger("state_db");
  return log;
}

// Ordered migrations: entry i brings the schema from version i to i+1. Never edit one that
// has shipped; append a new one.
constexpr std::array<std::string_view, 12> kMigrations = {
    // v1: functions, the configuration as a JSON blob; code_dir_key is a column so garbage
    // collection can ask which code directories are still referenced.
    R"sql(
      CREATE TABLE functions (
        name TEXT PRIMARY KEY NOT NULL,
        config TEXT NOT NULL,
        code_dir_key TEXT NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX functions_code_dir_key ON functions (code_dir_key);
    )sql",
    // v2: reserved concurrency, asynchronous invocation (per-function settings, the durable event
    // queue) and the local message queues that serve as dead-letter queues and destinations.
    // Times are epoch milliseconds. See docs/async.md for the states of an event.
    R"sql(
      CREATE TABLE function_concurrency (
        name TEXT PRIMARY KEY NOT NULL,
        reserved INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE event_invoke_configs (
        name TEXT PRIMARY KEY NOT NULL,
        config TEXT NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE async_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        request_id TEXT NOT NULL,
        function TEXT NOT NULL,
        payload TEXT NOT NULL,
        enqueued_ms INTEGER NOT NULL,
        next_ms INTEGER NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('queued', 'in_flight')),
        invoke_count INTEGER NOT NULL DEFAULT 0,
        function_errors INTEGER NOT NULL DEFAULT 0,
        throttles INTEGER NOT NULL DEFAULT 0,
        last_status INTEGER NOT NULL DEFAULT 0,
        last_error TEXT NOT NULL DEFAULT ''
      );
      CREATE INDEX async_events_due ON async_events (state, function, next_ms);
      CREATE TABLE queues (
        name TEXT PRIMARY KEY NOT NULL,
        arn TEXT NOT NULL,
        created_ms INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE queue_messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        queue TEXT NOT NULL REFERENCES queues (name) ON DELETE CASCADE,
        message_id TEXT NOT NULL,
        body TEXT NOT NULL,
        attributes TEXT NOT NULL,
        source_function TEXT,
        sent_ms INTEGER NOT NULL,
        visible_ms INTEGER NOT NULL,
        receipt_handle TEXT,
        receive_count INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX queue_messages_visible ON queue_messages (queue, visible_ms);
      CREATE INDEX queue_messages_handle ON queue_messages (receipt_handle);
    )sql",
    // v3: published versions, immutable snapshots of a function's configuration and code (the
    // code_dir_key column keeps their code from garbage collection). last_version on the function
    // numbers them: Lambda never reuses a number, even after a version is deleted.
    R"sql(
      CREATE TABLE function_versions (
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        config TEXT NOT NULL,
        code_dir_key TEXT NOT NULL,
        PRIMARY KEY (name, version)
      ) WITHOUT ROWID;
      CREATE INDEX function_versions_code_dir_key ON function_versions (code_dir_key);
      ALTER TABLE functions ADD COLUMN last_version INTEGER NOT NULL DEFAULT 0;
    )sql",
    // v4: aliases (a name for a version, with an optional traffic split); the qualifier an
    // asynchronous invocation was made with ('' for none), resolved when it runs; layer versions
    // (content in the code store, numbered per layer by layers.last_version, never reused).
    R"sql(
      CREATE TABLE function_aliases (
        name TEXT NOT NULL,
        alias TEXT NOT NULL,
        config TEXT NOT NULL,
        PRIMARY KEY (name, alias)
      ) WITHOUT ROWID;
      ALTER TABLE async_events ADD COLUMN qualifier TEXT NOT NULL DEFAULT '';
      CREATE TABLE layers (
        name TEXT PRIMARY KEY,
        last_version INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE layer_versions (
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        config TEXT NOT NULL,
        code_dir_key TEXT NOT NULL,
        PRIMARY KEY (name, version)
      ) WITHOUT ROWID;
    )sql",
    // v5: provisioned concurrency configs, per published version or alias of a function.
    R"sql(
      CREATE TABLE provisioned_concurrency (
        name TEXT NOT NULL,
        qualifier TEXT NOT NULL,
        requested INTEGER NOT NULL,
        last_modified TEXT NOT NULL,
        PRIMARY KEY (name, qualifier)
      ) WITHOUT ROWID;
    )sql",
    // v6: event-invoke configs per qualifier, as Lambda's ($LATEST, a version or an alias); what
    // there was is $LATEST's.
    R"sql(
      CREATE TABLE event_invoke_configs_by_qualifier (
        name TEXT NOT NULL,
        qualifier TEXT NOT NULL,
        config TEXT NOT NULL,
        PRIMARY KEY (name, qualifier)
      ) WITHOUT ROWID;
      INSERT INTO event_invoke_configs_by_qualifier (name, qualifier, config)
        SELECT name, '$LATEST', config FROM event_invoke_configs;
      DROP TABLE event_invoke_configs;
      ALTER TABLE event_invoke_configs_by_qualifier RENAME TO event_invoke_configs;
    )sql",
    // v7: stacks `runtimed deploy` applied, each the deployer's JSON record.
    R"sql(
      CREATE TABLE IF NOT EXISTS stacks (
        name TEXT PRIMARY KEY,
        record TEXT NOT NULL,
        updated_ms INTEGER NOT NULL
      ) WITHOUT ROWID;
    )sql",
    // v8: HTTP triggers: Function URL configs (per function and alias, '' for none) and HTTP APIs,
    // each config a JSON object (runtimed/triggers/http_trigger_store.cpp).
    R"sql(
      CREATE TABLE function_urls (
        function TEXT NOT NULL,
        qualifier TEXT NOT NULL,
        url_id TEXT NOT NULL UNIQUE,
        config TEXT NOT NULL,
        PRIMARY KEY (function, qualifier)
      ) WITHOUT ROWID;
      CREATE TABLE http_apis (
        name TEXT PRIMARY KEY,
        api_id TEXT NOT NULL UNIQUE,
        config TEXT NOT NULL
      ) WITHOUT ROWID;
    )sql",
    // v9: schedules (runtimed/triggers/scheduler.cpp): the spec as given, the function it
    // invokes, when it was made (rates count from it), its next fire time (NULL: never again).
    R"sql(
      CREATE TABLE schedules (
        name TEXT PRIMARY KEY,
        spec TEXT NOT NULL,
        function TEXT NOT NULL,
        qualifier TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        next_ms INTEGER,
        last_fire_ms INTEGER NOT NULL DEFAULT 0
      ) WITHOUT ROWID;
    )sql",
    // v10: queues' own settings (visibility timeout, redrive policy), and event source mappings
    // from them to functions (runtimed/triggers/event_source_mappings.cpp).
    R"sql(
      ALTER TABLE queues ADD COLUMN visibility_s INTEGER NOT NULL DEFAULT 30;
      ALTER TABLE queues ADD COLUMN redrive_queue TEXT;
      ALTER TABLE queues ADD COLUMN max_receive INTEGER NOT NULL DEFAULT 0;
      CREATE TABLE event_source_mappings (
        uuid TEXT PRIMARY KEY,
        spec TEXT NOT NULL,
        function TEXT NOT NULL,
        queue TEXT NOT NULL
      ) WITHOUT ROWID;
    )sql",
    // v11: each function's RevisionId as a column, so a save can require the revision it read
    // (nodes sharing a catalog must not overwrite one another's changes from a stale cache).
    R"sql(
      ALTER TABLE functions ADD COLUMN revision_id TEXT NOT NULL DEFAULT '';
      UPDATE functions SET revision_id = json_extract(config, '$.revision_id');
    )sql",
    // v12: the fencing token an in-flight event was claimed under (0 on a single node), which
    // its outcome must match to be recorded (cluster mode, docs/cluster.md).
    R"sql(
      ALTER TABLE async_events ADD COLUMN claim_token INTEGER NOT NULL DEFAULT 0;
    )sql",
};

}  // namespace

std::expected<void, common::StoreError> Statement::run() {
  while (true) {
    auto row = step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return {};
  }
}

std::expected<std::unique_ptr<StateDb>, std::string> StateDb::open(
    const std::filesystem::path& state_dir) {
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  if (ec) return std::unexpected("cannot create " + state_dir.string() + ": " + ec.message());
  auto backend = SqliteBackend::open(state_dir / "runtimed.db");
  if (!backend) return std::unexpected(backend.error());
  auto db = std::make_unique<StateDb>(std::move(*backend));
  auto lock = db->lock();
  if (auto ok = db->migrate(); !ok)
    return std::unexpected("migrating " + db->backend_->describe() + ": " + ok.error().message);
  return db;
}

StateDb::~StateDb() = default;

std::expected<Statement, common::StoreError> StateDb::prepare(std::string_view sql) {
  auto cursor = backend_->prepare(sql);
  if (!cursor) return std::unexpected(cursor.error());
  return Statement(std::move(*cursor));
}

std::expected<void, common::StoreError> StateDb::exec(const std::string& sql) {
  return backend_->exec(sql);
}

int StateDb::latest_schema_version() { return static_cast<int>(kMigrations.size()); }

int StateDb::schema_version() {
  auto stmt = prepare("SELECT MAX(version) FROM schema_version");
  if (!stmt) return 0;
  auto row = stmt->step();
  return row && *row ? static_cast<int>(stmt->column_int64(0)) : 0;
}

std::expected<void, common::StoreError> StateDb::migrate() {
  if (auto ok = exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
                     "applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))");
      !ok)
    return ok;
  const int current = schema_version();
  if (current > latest_schema_version())
    return std::unexpected(
        common::StoreError::internal("database schema version " + std::to_string(current) +
                                     " is newer than this runtimed understands (" +
                                     std::to_string(latest_schema_version()) + ")"));
  for (int v = current; v < latest_schema_version(); ++v) {
    auto tx = Transaction::begin(*this);
    if (!tx) return std::unexpected(tx.error());
    if (auto ok = exec(std::string(kMigrations[static_cast<size_t>(v)])); !ok) return ok;
    auto insert = prepare("INSERT INTO schema_version (version) VALUES (?1)");
    if (!insert) return std::unexpected(insert.error());
    if (auto ok = insert->bind(1, int64_t{v + 1}).run(); !ok) return ok;
    if (auto ok = tx->commit(); !ok) return ok;
    logger()->info("{}: schema migrated to version {}", backend_->describe(), v + 1);
  }
  return {};
}

struct StateDb::PendingWrite {
  const WriteWork* work;
  std::expected<void, common::StoreError> result;
  bool done = false;
};

std::expected<void, common::StoreError> StateDb::write(const WriteWork& work) {
  PendingWrite mine{&work, {}, false};
  std::unique_lock writers(writers_mutex_);
  pending_writes_.push_back(&mine);
  if (leader_active_) {
    // A leader is syncing an earlier batch; it takes this one next.
    writers_done_.wait(writers, [&] { return mine.done; });
    return std::move(mine.result);
  }
  leader_active_ = true;
  commit_batches(writers);
  return std::move(mine.result);
}

void StateDb::commit_batches(std::unique_lock<std::mutex>& writers) {
  while (!pending_writes_.empty()) {
    std::deque<PendingWrite*> batch;
    batch.swap(pending_writes_);
    writers.unlock();
    {
      auto lock = this->lock();
      auto tx = Transaction::begin(*this);
      std::expected<void, common::StoreError> committed;
      if (!tx) {
        committed = std::unexpected(tx.error());
      } else {
        for (PendingWrite* w : batch) {
          if (auto ok = exec("SAVEPOINT one_writer"); !ok) {
            w->result = std::unexpected(ok.error());
            continue;
          }
          try {
            w->result = (*w->work)();
          } catch (const std::exception& e) {
            w->result = std::unexpected(
                common::StoreError::internal(std::string("write failed: ") + e.what()));
          }
          if (!w->result) (void)exec("ROLLBACK TO one_writer");
          (void)exec("RELEASE one_writer");
        }
        committed = tx->commit();
      }
      if (!committed)
        for (PendingWrite* w : batch)
          if (w->result) w->result = std::unexpected(committed.error());
    }
    writers.lock();
    for (PendingWrite* w : batch) w->done = true;
    writers_done_.notify_all();
  }
  leader_active_ = false;
}

std::expected<Transaction, common::StoreError> Transaction::begin(StateDb& db) {
  if (auto ok = db.exec(std::string(db.begin_write_sql())); !ok) return std::unexpected(ok.error());
  return Transaction(db);
}

Transaction::~Transaction() {
  if (open_) (void)db_.exec("ROLLBACK");
}

std::expected<void, common::StoreError> Transaction::commit() {
  if (!open_) return std::unexpected(common::StoreError::internal("transaction is not open"));
  auto ok = db_.exec("COMMIT");
  if (ok) open_ = false;
  return ok;
}

}  // namespace runtimed
