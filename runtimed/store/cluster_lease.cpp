// Named leases in cluster_leases (see cluster_lease.hpp). PostgreSQL only: every time is now().
#include "runtimed/store/cluster_lease.hpp"

namespace runtimed {

std::expected<bool, common::StoreError> hold_cluster_lease(StateDb& db, std::string_view name,
                                                           int64_t token,
                                                           std::chrono::milliseconds length) {
  auto lock = db.lock();
  // One statement: inserted when absent; otherwise updated only when this token holds it or it
  // expired. A row comes back only when `token` holds the lease afterwards. The EXISTS keeps a
  // node whose membership lease ran out (the others may be taking its work over) from holding it.
  auto stmt = db.prepare(
      "INSERT INTO cluster_leases (name, fencing_token, expires_at) SELECT ?1, ?2::bigint, now() + "
      "?3::bigint * interval '1 millisecond' WHERE EXISTS (SELECT 1 FROM cluster_nodes WHERE "
      "fencing_token = ?2::bigint AND left_at IS NULL AND lease_expires_at > now()) ON CONFLICT "
      "(name) DO UPDATE SET fencing_token = excluded.fencing_token, expires_at = "
      "excluded.expires_at WHERE cluster_leases.fencing_token = excluded.fencing_token OR "
      "cluster_leases.expires_at <= now() RETURNING fencing_token");
  if (!stmt) return std::unexpected(stmt.error());
  stmt->bind(1, name).bind(2, token).bind(3, static_cast<int64_t>(length.count()));
  auto row = stmt->step();
  if (!row) return std::unexpected(row.error());
  return *row;
}

std::expected<void, common::StoreError> release_cluster_lease(StateDb& db, std::string_view name,
                                                              int64_t token) {
  auto lock = db.lock();
  auto stmt = db.prepare("DELETE FROM cluster_leases WHERE name = ?1 AND fencing_token = ?2");
  if (!stmt) return std::unexpected(stmt.error());
  return stmt->bind(1, name).bind(2, token).run();
}

std::expected<int64_t, common::StoreError> cluster_lease_holder(StateDb& db,
                                                                std::string_view name) {
  auto lock = db.lock();
  auto stmt =
      db.prepare("SELECT fencing_token FROM cluster_leases WHERE name = ?1 AND expires_at > now()");
  if (!stmt) return std::unexpected(stmt.error());
  auto row = stmt->bind(1, name).step();
  if (!row) return std::unexpected(row.error());
  return *row ? stmt->column_int64(0) : 0;
}

}  // namespace runtimed
