// BEGIN, COMMIT and the ROLLBACK of an abandoned transaction (see pg_transaction.hpp).
#include "runtimed/cluster/pg_transaction.hpp"

namespace cluster {

std::expected<PgTransaction, PgError> PgTransaction::begin(PgConnection& connection) {
  if (auto begun = connection.exec("BEGIN"); !begun) return std::unexpected(begun.error());
  return PgTransaction(connection);
}

PgTransaction::~PgTransaction() {
  // A failed ROLLBACK leaves a broken connection, which its owner replaces (ok() is false).
  if (connection_) (void)connection_->exec("ROLLBACK");
}

std::expected<void, PgError> PgTransaction::commit() {
  PgConnection* connection = std::exchange(connection_, nullptr);
  auto committed = connection->exec("COMMIT");
  if (!committed) return std::unexpected(committed.error());
  return {};
}

}  // namespace cluster
