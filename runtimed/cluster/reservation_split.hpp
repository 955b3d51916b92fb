// A function's reserved concurrency split across the live nodes (OpenWhisk's way of sharing a
// limit without a lock per call): each node admits up to its share, so together they never run
// more than the reservation while their views of the live nodes agree. Pure code over the ring.
#pragma once

#include <string_view>
#include <vector>

#include "runtimed/cluster/hash_ring.hpp"

namespace cluster {

// Each node's share of `reserved`, indexed like ring.nodes(): reserved / n each, and one more for
// the first reserved % n nodes of the function's walk, its home first (so a reservation smaller
// than the cluster sits where its synchronous calls are routed). Sums to `reserved`.
std::vector<int> reserved_shares(const HashRing& ring, std::string_view function, int reserved);

}  // namespace cluster
