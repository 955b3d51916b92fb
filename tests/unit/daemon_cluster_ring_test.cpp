// The ring that picks a function's home node: an even spread, little movement when a node joins or
// leaves, bounded loads passing over a node carrying too much, and the same answers in every
// process (pinned values, which a process-seeded hash could not reproduce).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "runtimed/cluster/hash_ring.hpp"

namespace {

using cluster::BoundedLoad;
using cluster::HashRing;

std::vector<std::string> ids(int n) {
  std::vector<std::string> out;
  for (int i = 1; i <= n; ++i) out.push_back("node-" + std::to_string(i));
  return out;
}

std::string home(const HashRing& ring, const std::string& key) {
  return ring.nodes()[ring.walk(key).front()];
}

TEST(HashRingTest, TheSameIdsGiveTheSameHomesInEveryProcess) {
  // XXH3-64 is specified: these are its values on any host and build.
  EXPECT_EQ(cluster::stable_hash(""), 0x2d06800538d394c2ULL);
  EXPECT_EQ(cluster::stable_hash("abc"), 0x78af5f94892f3950ULL);
  const HashRing ring({"n3", "n1", "n2"});
  const HashRing again({"n1", "n2", "n3", "n2"});  // order and duplicates do not matter
  EXPECT_EQ(ring.nodes(), (std::vector<std::string>{"n1", "n2", "n3"}));
  for (const char* name : {"hello", "orders", "thumbnailer", "a", ""})
    EXPECT_EQ(ring.walk(name), again.walk(name)) << name;
  // Pinned: a change of hash, point naming or virtual node count moves every home.
  std::map<std::string, std::string> homes;
  for (const char* name : {"hello", "orders", "thumbnailer", "fwd-fn"})
    homes[name] = home(ring, name);
  EXPECT_EQ(homes,
            (std::map<std::string, std::string>{
                {"hello", "n2"}, {"orders", "n2"}, {"thumbnailer", "n1"}, {"fwd-fn", "n1"}}));
}

TEST(HashRingTest, AWalkMeetsEveryNodeOnceHomeFirst) {
  const HashRing ring(ids(7));
  for (int k = 0; k < 200; ++k) {
    auto order = ring.walk("fn-" + std::to_string(k));
    ASSERT_EQ(order.size(), 7u);
    std::sort(order.begin(), order.end());
    EXPECT_EQ(std::unique(order.begin(), order.end()), order.end());
  }
  EXPECT_TRUE(HashRing({}).walk("x").empty());
  EXPECT_EQ(HashRing({"only"}).walk("x"), std::vector<size_t>{0});
}

TEST(HashRingTest, HomesSpreadEvenlyOverTheNodes) {
  const HashRing ring(ids(5));
  std::map<std::string, int> count;
  const int keys = 50000;
  for (int k = 0; k < keys; ++k) ++count[home(ring, "function-" + std::to_string(k))];
  ASSERT_EQ(count.size(), 5u);
  for (const auto& [node, n] : count) {
    // 128 points per node: each share within ±20% of a fifth.
    EXPECT_GT(n, keys / 5 * 8 / 10) << node;
    EXPECT_LT(n, keys / 5 * 12 / 10) << node;
  }
}

TEST(HashRingTest, AJoiningNodeTakesOnlyItsShareAndALeavingOneGivesOnlyItsOwn) {
  const HashRing four(ids(4));
  const HashRing five(ids(5));  // node-5 joins
  const int keys = 20000;
  int moved = 0;
  for (int k = 0; k < keys; ++k) {
    const std::string key = "function-" + std::to_string(k);
    const std::string before = home(four, key);
    const std::string after = home(five, key);
    if (before != after) {
      ++moved;
      EXPECT_EQ(after, "node-5") << key;  // keys only move to the new node
    }
  }
  // About a fifth moves; a modulo hash would move four fifths.
  EXPECT_GT(moved, keys / 5 * 7 / 10);
  EXPECT_LT(moved, keys / 5 * 13 / 10);
  // node-5 leaving again: only its keys move, each to where the walk said next.
  for (int k = 0; k < keys; ++k) {
    const std::string key = "function-" + std::to_string(k);
    const auto walk = five.walk(key);
    if (five.nodes()[walk[0]] != "node-5") {
      EXPECT_EQ(home(four, key), five.nodes()[walk[0]]);
    } else {
      EXPECT_EQ(home(four, key), five.nodes()[walk[1]]) << key;
    }
  }
}

TEST(HashRingTest, TheCapacityIsTheBoundedAverageAndNeverBelowTheFloor) {
  EXPECT_EQ(cluster::load_capacity(0, 3, {0.25, 1}), 1);    // ceil(1.25 * 1/3)
  EXPECT_EQ(cluster::load_capacity(11, 3, {0.25, 1}), 5);   // ceil(1.25 * 12/3)
  EXPECT_EQ(cluster::load_capacity(99, 4, {0.25, 1}), 32);  // ceil(1.25 * 100/4) = 31.25
  EXPECT_EQ(cluster::load_capacity(2, 3, {0.25, 4}), 4);    // the floor
  EXPECT_EQ(cluster::load_capacity(5, 0, {0.25, 4}), 4);
}

TEST(HashRingTest, ANodeOverItsBoundIsPassedOverForTheNextOnTheRing) {
  const HashRing ring(ids(3));
  const std::string key = "busy-function";
  const auto walk = ring.walk(key);
  std::vector<int64_t> loads(3, 0);
  // Balanced: the plain walk.
  EXPECT_EQ(cluster::bounded_load_order(ring, key, loads, {}), walk);
  // The home carries 10 of 12: capacity ceil(1.25 * 13/3) = 6, so it goes last.
  loads[walk[0]] = 10;
  loads[walk[1]] = 1;
  loads[walk[2]] = 1;
  EXPECT_EQ(cluster::bounded_load_order(ring, key, loads, {}),
            (std::vector<size_t>{walk[1], walk[2], walk[0]}));
  // The home and the next both over: the third first, then the others in ring order.
  loads[walk[1]] = 10;
  EXPECT_EQ(cluster::bounded_load_order(ring, key, loads, {}),
            (std::vector<size_t>{walk[2], walk[0], walk[1]}));
  // A floor above their load keeps the plain walk at low load.
  std::vector<int64_t> low(3, 0);
  low[walk[0]] = 1;
  EXPECT_EQ(cluster::bounded_load_order(ring, key, low, {0.25, 1}).front(), walk[1]);
  EXPECT_EQ(cluster::bounded_load_order(ring, key, low, {0.25, 4}), walk);
}

TEST(HashRingTest, BoundedLoadsKeepEveryNodeUnderTheBoundWhenPlacingManyCalls) {
  // Placing calls one by one for a few hot keys: with the bound, no node exceeds it.
  const HashRing ring(ids(4));
  std::vector<int64_t> loads(4, 0);
  const BoundedLoad bound{0.25, 1};
  for (int call = 0; call < 400; ++call) {
    const std::string key = "hot-" + std::to_string(call % 3);
    const size_t node = cluster::bounded_load_order(ring, key, loads, bound).front();
    const int64_t total = std::accumulate(loads.begin(), loads.end(), int64_t{0});
    EXPECT_LT(loads[node], cluster::load_capacity(total, 4, bound));
    ++loads[node];
  }
  for (int64_t l : loads) EXPECT_LE(l, 125);  // 1.25 * 400/4
}

}  // namespace
