// The daemon's one SQLite database (<state-dir>/runtimed.db): RAII handle, schema migrations,
// prepared statements, and the mutex that serializes use of its single connection.
#pragma once

#include <sqlite3.h>

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

namespace runtimed {

// One prepared statement; finalized on destruction. Binding indices start at 1, columns at 0.
class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  ~Statement();

  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, int64_t value);
  Statement& bind_null(int index);

  // True when a row is ready, false when done; an error is Internal with SQLite's message.
  std::expected<bool, common::StoreError> step();
  // Steps to completion (for statements that return no rows).
  std::expected<void, common::StoreError> run();

  std::string column_text(int index) const;
  int64_t column_int64(int index) const;
  bool column_is_null(int index) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

class StateDb {
 public:
  // Opens (creating) <state_dir>/runtimed.db and brings its schema to the latest version. The error
  // is for the operator (startup), not a StoreError.
  static std::expected<std::unique_ptr<StateDb>, std::string> open(
      const std::filesystem::path& state_dir);
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
  int schema_version();  // caller holds lock()
  static int latest_schema_version();
  const std::filesystem::path& path() const { return path_; }

 private:
  StateDb(sqlite3* db, std::filesystem::path path) : db_(db), path_(std::move(path)) {}
  std::expected<void, common::StoreError> migrate();
  struct PendingWrite;
  // The leader's part of write(): commits batches until none is waiting.
  void commit_batches(std::unique_lock<std::mutex>& writers_lock);

  sqlite3* db_;
  std::filesystem::path path_;
  std::mutex mutex_;
  std::mutex writers_mutex_;  // guards the two below
  std::condition_variable writers_done_;
  std::deque<PendingWrite*> pending_writes_;
  bool leader_active_ = false;
};

// An open write transaction: ROLLBACK on destruction unless commit() succeeded. Move-only.
class Transaction {
 public:
  // BEGIN IMMEDIATE (caller holds db.lock()).
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
