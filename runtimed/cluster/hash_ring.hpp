// Where a function lives in a cluster: consistent hashing of its name over the live nodes' ids,
// with virtual nodes, and bounded loads (Mirrokni, Thorup, Zadimoghaddam 2016) so that a node
// carrying more than its share is passed over for the next one on the ring. Pure code: the same
// ids give the same ring in every process, build and host (XXH3, never std::hash).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cluster {

// XXH3-64 of `text` (seed 0): stable across processes, builds and hosts.
uint64_t stable_hash(std::string_view text);

class HashRing {
 public:
  // Enough points that each node's share of the ring stays within a few percent of 1/n.
  static constexpr int kVirtualNodes = 128;

  // `node_ids` in any order (duplicates are dropped); each gets `virtual_nodes` points, at the
  // hashes of "ID#0", "ID#1", …
  explicit HashRing(std::vector<std::string> node_ids, int virtual_nodes = kVirtualNodes);

  // The nodes, sorted: walk() answers indices into this list.
  const std::vector<std::string>& nodes() const { return nodes_; }
  bool empty() const { return nodes_.empty(); }

  // Every node once, in the order met walking the ring clockwise from the key's point: [0] is
  // the key's home, [1] the node that takes over when the home is gone, and so on.
  std::vector<size_t> walk(std::string_view key) const;

 private:
  std::vector<std::string> nodes_;
  std::vector<std::pair<uint64_t, uint32_t>> points_;  // (hash, node index), sorted
};

struct BoundedLoad {
  // A node may carry up to (1 + epsilon) times the average load.
  double epsilon = 0.25;
  // ... and never less than this: at low load a warm environment matters more than balance
  // (the paper's bound alone would move the second of two concurrent calls off its home).
  int64_t min_capacity = 1;
};

// The most a node may carry: max(ceil((1 + epsilon) * (total + 1) / nodes), min_capacity), the
// average counting the call being placed.
int64_t load_capacity(int64_t total_load, size_t nodes, const BoundedLoad& bound);

// The walk for `key` with bounded loads: the nodes under capacity in ring order, then those at or
// over it in ring order (still worth trying when every other one refused). `loads` is indexed
// like ring.nodes().
std::vector<size_t> bounded_load_order(const HashRing& ring, std::string_view key,
                                       std::span<const int64_t> loads, const BoundedLoad& bound);

}  // namespace cluster
