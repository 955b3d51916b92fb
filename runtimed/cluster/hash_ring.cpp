// Consistent hashing with bounded loads (see hash_ring.hpp).
#include "runtimed/cluster/hash_ring.hpp"

#include <xxhash.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace cluster {

uint64_t stable_hash(std::string_view text) { return XXH3_64bits(text.data(), text.size()); }

HashRing::HashRing(std::vector<std::string> node_ids, int virtual_nodes)
    : nodes_(std::move(node_ids)) {
  std::sort(nodes_.begin(), nodes_.end());
  nodes_.erase(std::unique(nodes_.begin(), nodes_.end()), nodes_.end());
  points_.reserve(nodes_.size() * static_cast<size_t>(std::max(virtual_nodes, 1)));
  for (uint32_t n = 0; n < nodes_.size(); ++n) {
    for (int v = 0; v < std::max(virtual_nodes, 1); ++v)
      points_.emplace_back(stable_hash(nodes_[n] + "#" + std::to_string(v)), n);
  }
  // Ties (astronomically rare) broken by node index, so every process orders them alike.
  std::sort(points_.begin(), points_.end());
}

std::vector<size_t> HashRing::walk(std::string_view key) const {
  std::vector<size_t> order;
  if (nodes_.empty()) return order;
  order.reserve(nodes_.size());
  std::vector<bool> seen(nodes_.size());
  const uint64_t h = stable_hash(key);
  const auto start = std::lower_bound(points_.begin(), points_.end(), std::make_pair(h, 0u));
  // Each point is a random node, so seeing all n takes about n·ln(n) points, not all of them.
  const size_t first = static_cast<size_t>(start - points_.begin());
  for (size_t i = 0; i < points_.size() && order.size() < nodes_.size(); ++i) {
    const uint32_t node = points_[(first + i) % points_.size()].second;
    if (!seen[node]) {
      seen[node] = true;
      order.push_back(node);
    }
  }
  return order;
}

int64_t load_capacity(int64_t total_load, size_t nodes, const BoundedLoad& bound) {
  if (nodes == 0) return bound.min_capacity;
  const double average =
      static_cast<double>(std::max<int64_t>(total_load, 0) + 1) / static_cast<double>(nodes);
  const auto capacity = static_cast<int64_t>(std::ceil((1.0 + bound.epsilon) * average));
  return std::max(capacity, bound.min_capacity);
}

std::vector<size_t> bounded_load_order(const HashRing& ring, std::string_view key,
                                       std::span<const int64_t> loads, const BoundedLoad& bound) {
  std::vector<size_t> order = ring.walk(key);
  const int64_t total = std::accumulate(loads.begin(), loads.end(), int64_t{0});
  const int64_t capacity = load_capacity(total, ring.nodes().size(), bound);
  auto load_of = [&](size_t node) { return node < loads.size() ? loads[node] : 0; };
  std::stable_partition(order.begin(), order.end(),
                        [&](size_t node) { return load_of(node) < capacity; });
  return order;
}

}  // namespace cluster
