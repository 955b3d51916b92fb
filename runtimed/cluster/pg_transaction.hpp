// A transaction on a PgConnection that rolls back unless committed: every early return of a
// multi-statement change leaves the database as it was.
#pragma once

#include <expected>

#include "runtimed/cluster/pg_connection.hpp"

namespace cluster {

class PgTransaction {
 public:
  // BEGIN on `connection`, which must outlive the transaction.
  static std::expected<PgTransaction, PgError> begin(PgConnection& connection);
  ~PgTransaction();
  PgTransaction(PgTransaction&& other) noexcept
      : connection_(std::exchange(other.connection_, nullptr)) {}
  PgTransaction& operator=(PgTransaction&&) = delete;
  PgTransaction(const PgTransaction&) = delete;
  PgTransaction& operator=(const PgTransaction&) = delete;

  PgConnection& connection() { return *connection_; }
  std::expected<void, PgError> commit();

 private:
  explicit PgTransaction(PgConnection& connection) : connection_(&connection) {}
  PgConnection* connection_;  // null once committed or rolled back
};

}  // namespace cluster
