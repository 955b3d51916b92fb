// The membership queries (see membership_store.hpp).
#include "runtimed/cluster/membership_store.hpp"

#include <fmt/format.h>

namespace cluster {

namespace {

// A lease as an interval parameter: "$n::interval".
std::string interval_of(std::chrono::milliseconds lease) {
  return fmt::format("{} milliseconds", lease.count());
}

}  // namespace

std::string_view to_string(NodeState state) {
  switch (state) {
    case NodeState::Live:
      return "live";
    case NodeState::Dead:
      return "dead";
    case NodeState::Left:
      return "left";
  }
  return "dead";
}

std::expected<int64_t, PgError> register_node(PgConnection& db, const std::string& node_id,
                                              const std::string& address,
                                              std::chrono::milliseconds lease) {
  auto registered = db.exec(
      "INSERT INTO cluster_nodes (node_id, address, started_at, heartbeat_at, lease_expires_at,"
      " fencing_token, left_at, in_flight)"
      " VALUES ($1, $2, now(), now(), now() + $3::interval, nextval('cluster_fencing_tokens'),"
      " NULL, 0)"
      " ON CONFLICT (node_id) DO UPDATE SET address = EXCLUDED.address,"
      " started_at = EXCLUDED.started_at, heartbeat_at = EXCLUDED.heartbeat_at,"
      " lease_expires_at = EXCLUDED.lease_expires_at, fencing_token = EXCLUDED.fencing_token,"
      " left_at = NULL, in_flight = 0"
      " RETURNING fencing_token",
      {node_id, address, interval_of(lease)});
  if (!registered) return std::unexpected(registered.error());
  return registered->integer(0, 0);
}

std::expected<bool, PgError> renew_lease(PgConnection& db, const std::string& node_id,
                                         int64_t token, std::chrono::milliseconds lease,
                                         int64_t in_flight) {
  // An expired lease is not renewed: others may already treat the node as dead, so it comes back
  // only under a new token.
  auto renewed = db.exec(
      "UPDATE cluster_nodes SET heartbeat_at = now(), lease_expires_at = now() + $3::interval,"
      " in_flight = $4"
      " WHERE node_id = $1 AND fencing_token = $2 AND left_at IS NULL"
      " AND lease_expires_at > now()"
      " RETURNING 1",
      {node_id, std::to_string(token), interval_of(lease), std::to_string(in_flight)});
  if (!renewed) return std::unexpected(renewed.error());
  return renewed->rows() == 1;
}

std::expected<bool, PgError> leave(PgConnection& db, const std::string& node_id, int64_t token) {
  auto left = db.exec(
      "UPDATE cluster_nodes SET left_at = now(), lease_expires_at = least(lease_expires_at, now()),"
      " in_flight = 0"
      " WHERE node_id = $1 AND fencing_token = $2 AND left_at IS NULL"
      " RETURNING 1",
      {node_id, std::to_string(token)});
  if (!left) return std::unexpected(left.error());
  return left->rows() == 1;
}

std::expected<int64_t, PgError> forget_nodes(PgConnection& db, std::chrono::milliseconds after) {
  auto forgotten =
      db.exec("DELETE FROM cluster_nodes WHERE lease_expires_at < now() - $1::interval RETURNING 1",
              {interval_of(after)});
  if (!forgotten) return std::unexpected(forgotten.error());
  return forgotten->rows();
}

std::expected<std::vector<NodeStatus>, PgError> list_nodes(PgConnection& db) {
  auto rows = db.exec(
      "SELECT node_id, address, fencing_token, in_flight,"
      " CASE WHEN left_at IS NOT NULL THEN 'left'"
      " WHEN lease_expires_at > now() THEN 'live' ELSE 'dead' END,"
      " floor(extract(epoch FROM lease_expires_at - now()) * 1000)::bigint,"
      " floor(extract(epoch FROM now() - heartbeat_at) * 1000)::bigint,"
      " to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
      " (SELECT count(*) FROM async_events e WHERE e.state = 'in_flight'"
      "  AND e.claim_token = cluster_nodes.fencing_token)"
      " FROM cluster_nodes ORDER BY node_id");
  if (!rows) return std::unexpected(rows.error());
  std::vector<NodeStatus> nodes;
  nodes.reserve(static_cast<size_t>(rows->rows()));
  for (int r = 0; r < rows->rows(); ++r) {
    const std::string_view state = rows->text(r, 4);
    nodes.push_back(NodeStatus{
        .node_id = std::string(rows->text(r, 0)),
        .address = std::string(rows->text(r, 1)),
        .state = state == "live"   ? NodeState::Live
                 : state == "left" ? NodeState::Left
                                   : NodeState::Dead,
        .fencing_token = rows->integer(r, 2),
        .in_flight = rows->integer(r, 3),
        .lease_remaining = std::chrono::milliseconds(rows->integer(r, 5)),
        .heartbeat_age = std::chrono::milliseconds(rows->integer(r, 6)),
        .started_at = std::string(rows->text(r, 7)),
        .async_in_flight = rows->integer(r, 8),
    });
  }
  return nodes;
}

std::expected<AsyncQueueDepth, PgError> async_queue_depth(PgConnection& db) {
  auto row = db.exec(
      "SELECT count(*) FILTER (WHERE state = 'queued'),"
      " count(*) FILTER (WHERE state = 'in_flight') FROM async_events");
  if (!row) return std::unexpected(row.error());
  return AsyncQueueDepth{row->integer(0, 0), row->integer(0, 1)};
}

}  // namespace cluster
