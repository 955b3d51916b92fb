// The SQL database under StateDb, behind one interface with two implementations: SQLite (the
// embedded default, sqlite_backend) and PostgreSQL (cluster mode, runtimed/cluster/
// pg_state_backend). The stores write one SQL text for both: parameters are ?1, ?2, … (the
// PostgreSQL backend renumbers them $1, $2, …), and the few statements whose SQL differs (JSON
// functions) ask the dialect.
#pragma once

#include <cstdint>
#include <expected>
#include <memory>
#include <string>
#include <string_view>

#include "common/store_error.hpp"

namespace runtimed {

enum class SqlDialect { Sqlite, Postgres };

// One prepared statement of a backend: values bound by index (from 1), then stepped row by row;
// columns by index (from 0) on the current row.
class SqlCursor {
 public:
  virtual ~SqlCursor() = default;
  virtual void bind_text(int index, std::string_view text) = 0;
  virtual void bind_int64(int index, int64_t value) = 0;
  virtual void bind_null(int index) = 0;
  // True when a row is ready, false when done.
  virtual std::expected<bool, common::StoreError> step() = 0;
  virtual std::string column_text(int index) const = 0;
  virtual int64_t column_int64(int index) const = 0;
  virtual bool column_is_null(int index) const = 0;
};

// One connection. Not thread-safe: StateDb serializes its use.
class SqlBackend {
 public:
  virtual ~SqlBackend() = default;
  virtual SqlDialect dialect() const = 0;
  virtual std::expected<std::unique_ptr<SqlCursor>, common::StoreError> prepare(
      std::string_view sql) = 0;
  // One or more statements without parameters or rows.
  virtual std::expected<void, common::StoreError> exec(const std::string& sql) = 0;
  // What a write transaction starts with (SQLite takes its write lock at once).
  virtual std::string_view begin_write_sql() const = 0;
  // For logs: the file, or the database's address.
  virtual std::string describe() const = 0;
};

}  // namespace runtimed
