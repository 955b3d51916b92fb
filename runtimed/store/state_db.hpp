// The daemon's state database: by default SQLite (<state-dir>/runtimed.db, with its schema
// migrations here), in cluster mode PostgreSQL for the state nodes share (sql_backend.hpp). One
// connection, prepared statements, group commit, and the mutex that serializes the connection.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <expected>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/store_error.hpp"
#include "runtimed/store/sql_backend.hpp"

namespace runtimed {

// One prepared statement; finalized on destruction. Binding indices start at 1, columns at 0.
class Statement {
 public:
  explicit Statement(std::unique_ptr<SqlCursor> cursor) : cursor_(std::move(cursor)) {}

  Statement& bind(int index, std::string_view text) {
    cursor_->bind_text(index, text);
    return *this;
  }
  Statement& bind(int index, int64_t value) {
    cursor_->bind_int64(index, value);
    return *this;
  }
  Statement& bind_null(int index) {
    cursor_->bind_null(index);
    return *this;
  }

  // True when a row is ready, false when done; an error is Internal with the database's message.
  std::expected<bool, common::StoreError> step() { return cursor_->step(); }
  // Steps to completion (for statements that return no rows).
  std::expected<void, common::StoreError> run();

  std::string column_text(int index) const { return cursor_->column_text(index); }
  int64_t column_int64(int index) const { return cursor_->column_int64(index); }
  bool column_is_null(int index) const { return cursor_->column_is_null(index); }

 private:
  std::unique_ptr<SqlCursor> cursor_;
};

class StateDb {
 public:
  // Opens (creating) <state_dir>/runtimed.db and brings its schema to the latest version. The error
  // is for the operator (startup), not a StoreError.
  static std::expected<std::unique_ptr<StateDb>, std::string> open(
      const std::filesystem::path& state_dir);
  // A database over `backend`, whose schema its owner keeps (the cluster's migrations).
  explicit StateDb(std::unique_ptr<SqlBackend> backend) : backend_(std::move(backend)) {}
  ~StateDb();
  StateDb(const StateDb&) = delete;
  StateDb& operator=(const StateDb&) = delete;

  // Hold this while using the connection (preparing, stepping, transactions).
  std::unique_lock<std::mutex> lock() { return std::unique_lock(mutex_); }

  // Group commit: runs `work` (which uses the connection as if it held lock()) inside one write
  // transaction shared with every writer that arrived while the previous commit was syncing, and
  // returns once that transaction is durable. A failing `work` is rolled back alone (savepoint);
  // the others commit. One sync then serves many writers instead of one each.
  using WriteWork = std::function<std::expected<void, common::StoreError>()>;
  std::expected<void, common::StoreError> write(const WriteWork& work);

  std::expected<Statement, common::StoreError> prepare(std::string_view sql);
  std::expected<void, common::StoreError> exec(const std::string& sql);
  SqlDialect dialect() const { return backend_->dialect(); }
  std::string_view begin_write_sql() const { return backend_->begin_write_sql(); }
  int schema_version();  // caller holds lock(); SQLite's schema
  static int latest_schema_version();

 private:
  std::expected<void, common::StoreError> migrate();
  struct PendingWrite;
  // The leader's part of write(): commits batches until none is waiting.
  void commit_batches(std::unique_lock<std::mutex>& writers_lock);

  std::unique_ptr<SqlBackend> backend_;
  std::mutex mutex_;
  std::mutex writers_mutex_;  // guards the two below
  std::condition_variable writers_done_;
  std::deque<PendingWrite*> pending_writes_;
  bool leader_active_ = false;
};

// An open write transaction: ROLLBACK on destruction unless commit() succeeded. Move-only.
class Transaction {
 public:
  // BEGIN (IMMEDIATE, in SQLite; caller holds db.lock()).
  static std::expected<Transaction, common::StoreError> begin(StateDb& db);
  Transaction(Transaction&& other) noexcept : db_(other.db_), open_(other.open_) {
    other.open_ = false;
  }
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  ~Transaction();

  std::expected<void, common::StoreError> commit();

 private:
  explicit Transaction(StateDb& db) : db_(db), open_(true) {}

  StateDb& db_;
  bool open_;
};

}  // namespace runtimed
