// The live nodes as the membership thread last read them, with their ring: what the invoke path
// routes by, so it never waits on PostgreSQL. Immutable once built; the thread swaps in a new one
// at every heartbeat.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtimed/cluster/hash_ring.hpp"
#include "runtimed/cluster/membership_store.hpp"

namespace cluster {

struct LiveNode {
  std::string node_id;
  std::string address;    // its client API, as advertised
  int64_t in_flight = 0;  // invocations running at its last heartbeat
  int64_t fencing_token = 0;
};

struct LiveView {
  explicit LiveView(std::vector<LiveNode> live);

  std::vector<LiveNode> nodes;  // sorted by id: nodes[i] is ring.nodes()[i]
  HashRing ring;

  std::optional<size_t> index_of(const std::string& node_id) const;
};

// The view from a listing of every node: the live ones, and `self` (this node, registered) even
// when the listing missed it (its row's lease read as expired by a slow query).
std::shared_ptr<const LiveView> make_live_view(const std::vector<NodeStatus>& listed,
                                               const LiveNode& self);

}  // namespace cluster
