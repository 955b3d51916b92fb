// The SQLite implementation of SqlBackend: one connection to a database file, in WAL mode with
// synchronous=FULL (a committed change survives power loss) and foreign keys on.
#pragma once

#include <expected>
#include <filesystem>
#include <memory>
#include <string>

#include "runtimed/store/sql_backend.hpp"

struct sqlite3;

namespace runtimed {

class SqliteBackend final : public SqlBackend {
 public:
  // Opens (creating, owner-only) the database file at `path`; the error is for the operator.
  static std::expected<std::unique_ptr<SqliteBackend>, std::string> open(
      const std::filesystem::path& path);
  ~SqliteBackend() override;
  SqliteBackend(const SqliteBackend&) = delete;
  SqliteBackend& operator=(const SqliteBackend&) = delete;

  SqlDialect dialect() const override { return SqlDialect::Sqlite; }
  std::expected<std::unique_ptr<SqlCursor>, common::StoreError> prepare(
      std::string_view sql) override;
  std::expected<void, common::StoreError> exec(const std::string& sql) override;
  std::string_view begin_write_sql() const override { return "BEGIN IMMEDIATE"; }
  std::string describe() const override { return path_.string(); }

 private:
  SqliteBackend(sqlite3* db, std::filesystem::path path) : db_(db), path_(std::move(path)) {}

  sqlite3* db_;
  std::filesystem::path path_;
};

}  // namespace runtimed
