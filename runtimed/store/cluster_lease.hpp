// Named leases on cluster-wide duties (cluster_leases, cluster mode only): one node at a time
// holds a duty such as "scheduler" (firing the schedules) under its fencing token, until the
// lease's expiry in the database's time. A lease is taken or renewed only while the token's own
// membership lease in cluster_nodes is live, so a node the others see as dead holds nothing.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <string_view>

#include "common/store_error.hpp"
#include "runtimed/store/state_db.hpp"

namespace runtimed {

// Takes lease `name` for the registration under `token`, or renews it, for `length` from the
// database's now(): whether `token` holds it now. It is taken only when free or expired (a dead
// holder's is taken over once it ran out), and only while `token`'s node lease is live.
std::expected<bool, common::StoreError> hold_cluster_lease(StateDb& db, std::string_view name,
                                                           int64_t token,
                                                           std::chrono::milliseconds length);

// Gives lease `name` up if `token` holds it (a stopping node: another takes it at once).
std::expected<void, common::StoreError> release_cluster_lease(StateDb& db, std::string_view name,
                                                              int64_t token);

// The fencing token holding lease `name` now (0: none, or expired).
std::expected<int64_t, common::StoreError> cluster_lease_holder(StateDb& db, std::string_view name);

}  // namespace runtimed
