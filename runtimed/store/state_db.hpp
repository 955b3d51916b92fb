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

  // True when a row is ready, false when done; the error is SQLite's message.
  std::expected<bool, std::string> step();
  // Steps to completion (for statements that return no rows).
  std::expected<void, std::string> run();

  std::string column_text(int index) const;
  int64_t column_int64(int index) const;
  bool column_is_null(int index) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

class StateDb {
 public:
  // Opens (creating) <state_dir>/runtimed.db and brings its schema to the latest version.
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
  using WriteWork = std::function<std::expected<void, std::string>()>;
  std::expected<void, std::string> write(const WriteWork& work);

  std::expected<Statement, std::string> prepare(std::string_view sql);
  std::expected<void, std::string> exec(const std::string& sql);
  int schema_version();  // caller holds lock()
  static int latest_schema_version();
  const std::filesystem::path& path() const { return path_; }

 private:
  StateDb(sqlite3* db, std::filesystem::path path) : db_(db), path_(std::move(path)) {}
  std::expected<void, std::string> migrate();
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

// BEGIN IMMEDIATE on construction; ROLLBACK on destruction unless commit() succeeded.
class Transaction {
 public:
  explicit Transaction(StateDb& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  const std::optional<std::string>& begin_error() const { return begin_error_; }
  std::expected<void, std::string> commit();

 private:
  StateDb& db_;
  bool open_ = false;
  std::optional<std::string> begin_error_;
};

}  // namespace runtimed
