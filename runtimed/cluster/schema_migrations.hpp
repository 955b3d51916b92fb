// The cluster's schema in PostgreSQL, as numbered migrations applied in order, each exactly once:
// the runner holds a transaction-scoped advisory lock, so nodes starting together queue behind one
// another and the later ones find nothing left to apply.
#pragma once

#include <expected>
#include <string_view>
#include <vector>

#include "runtimed/cluster/pg_connection.hpp"

namespace cluster {

struct Migration {
  int version;
  std::string_view description;
  std::vector<std::string_view> statements;  // one SQL statement each (libpq runs one at a time)
};

// Every migration this build knows, by increasing version.
const std::vector<Migration>& schema_migrations();
int latest_schema_version();

// Applies the migrations the database lacks, all in one transaction: the versions applied now
// (empty when it was up to date), or the error (then nothing was applied).
std::expected<std::vector<int>, PgError> migrate(PgConnection& connection);

}  // namespace cluster
