// The PostgreSQL implementation of the store's SqlBackend (cluster mode): one connection to the
// cluster's database, opened on first use and again after it broke, its schema migrated on each
// connect. A statement's ?N parameters become $N; values travel as text.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "runtimed/cluster/pg_connection.hpp"
#include "runtimed/store/sql_backend.hpp"

namespace cluster {

// `sql` with each ?N outside quotes, identifiers and comments written $N.
std::string postgres_placeholders(std::string_view sql);

struct PgStateOptions {
  std::string database_url;
  std::chrono::seconds connect_timeout{2};
  std::chrono::milliseconds statement_timeout{5000};
};

class PgStateBackend final : public runtimed::SqlBackend {
 public:
  explicit PgStateBackend(PgStateOptions options) : options_(std::move(options)) {}

  runtimed::SqlDialect dialect() const override { return runtimed::SqlDialect::Postgres; }
  std::expected<std::unique_ptr<runtimed::SqlCursor>, common::StoreError> prepare(
      std::string_view sql) override;
  std::expected<void, common::StoreError> exec(const std::string& sql) override;
  std::string_view begin_write_sql() const override { return "BEGIN"; }
  std::string describe() const override { return "the cluster database"; }

  // Connects (and migrates) unless connected: whether the database answers.
  std::expected<void, common::StoreError> connect();
  // The server process of the connection now open (0: none), to tell our own NOTIFYs apart. Any
  // thread may read it.
  int backend_pid() const { return backend_pid_.load(); }

  // One statement with its parameters (the cursors' way in).
  std::expected<PgResult, common::StoreError> run(const std::string& sql,
                                                  const std::vector<PgParam>& params);

 private:
  const PgStateOptions options_;
  std::optional<PgConnection> connection_;
  std::atomic<int> backend_pid_{0};
  // After a failed connect, the next attempt waits this long: while the database is down, each
  // use fails at once with the last error instead of waiting out a connect timeout.
  static constexpr std::chrono::seconds kReconnectPause{1};
  std::chrono::steady_clock::time_point reconnect_after_{};
  std::string last_connect_error_;
  // Between BEGIN and COMMIT/ROLLBACK: a broken connection is not replaced then, or the rest of
  // the transaction would run, and commit, on its own on the new one.
  bool in_transaction_ = false;
};

}  // namespace cluster
