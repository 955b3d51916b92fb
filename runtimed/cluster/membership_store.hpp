// Cluster membership rows in PostgreSQL (cluster_nodes): registering a node under a new fencing
// token, renewing its lease, leaving, and listing every node as live, dead or left. Every time is
// the database's (now()), never a node's clock, so nodes with skewed clocks still agree.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "runtimed/cluster/pg_connection.hpp"

namespace cluster {

enum class NodeState { Live, Dead, Left };
std::string_view to_string(NodeState state);  // "live", "dead", "left"

// One node as the database sees it now.
struct NodeStatus {
  std::string node_id;
  std::string address;  // where other nodes reach its client API
  NodeState state = NodeState::Dead;
  int64_t fencing_token = 0;
  int64_t in_flight = 0;                        // invocations running at its last heartbeat
  std::chrono::milliseconds lease_remaining{};  // negative once expired
  std::chrono::milliseconds heartbeat_age{};
  std::string started_at;       // UTC, ISO 8601: when this registration began
  int64_t async_in_flight = 0;  // async events claimed under its token, running now
};

// The shared async queue: events waiting (or waiting for a retry), and being run.
struct AsyncQueueDepth {
  int64_t queued = 0;
  int64_t in_flight = 0;
};

// Registers `node_id` (again) with a lease of `lease` from now: its new fencing token, greater
// than any handed out before. A registration under the same id (a restart) replaces the old one,
// whose token no longer renews anything.
std::expected<int64_t, PgError> register_node(PgConnection& db, const std::string& node_id,
                                              const std::string& address,
                                              std::chrono::milliseconds lease);
// Extends the lease held under `token` to `lease` from now: true, or false when that lease is
// gone (expired, left, or taken by a newer registration) and the node must register again.
std::expected<bool, PgError> renew_lease(PgConnection& db, const std::string& node_id,
                                         int64_t token, std::chrono::milliseconds lease,
                                         int64_t in_flight);
// Marks the registration under `token` as left (its lease ends now): whether it still held it.
std::expected<bool, PgError> leave(PgConnection& db, const std::string& node_id, int64_t token);
// Removes the rows of nodes whose lease (or leave) ended more than `after` ago: how many.
std::expected<int64_t, PgError> forget_nodes(PgConnection& db, std::chrono::milliseconds after);
// Every node registered and not yet forgotten, by id.
std::expected<std::vector<NodeStatus>, PgError> list_nodes(PgConnection& db);
std::expected<AsyncQueueDepth, PgError> async_queue_depth(PgConnection& db);

}  // namespace cluster
