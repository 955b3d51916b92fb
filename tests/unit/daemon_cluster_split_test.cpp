// A reservation split across the live nodes: the shares add up to it, the remainder goes to the
// function's home and the nodes after it on its walk, and every process computes the same split.
#include <gtest/gtest.h>

#include <numeric>
#include <string>
#include <vector>

#include "runtimed/cluster/hash_ring.hpp"
#include "runtimed/cluster/reservation_split.hpp"

namespace {

using cluster::HashRing;
using cluster::reserved_shares;

TEST(ReservationSplitTest, TheSharesAddUpToTheReservationWithTheRemainderFromTheHomeOn) {
  const HashRing ring({"n1", "n2", "n3"});
  for (const std::string function : {"a", "orders", "fwd-split", "x:y"}) {
    const auto walk = ring.walk(function);
    for (int reserved = 0; reserved <= 10; ++reserved) {
      const auto shares = reserved_shares(ring, function, reserved);
      ASSERT_EQ(shares.size(), 3u);
      EXPECT_EQ(std::accumulate(shares.begin(), shares.end(), 0), reserved);
      // Along the walk the shares never grow: the home holds the most.
      for (size_t i = 1; i < walk.size(); ++i)
        EXPECT_GE(shares[walk[i - 1]], shares[walk[i]]) << function << " " << reserved;
      EXPECT_EQ(shares[walk[0]], (reserved + 2) / 3);
    }
  }
}

TEST(ReservationSplitTest, FourAcrossThreeIsTwoOneOneAndOneAcrossThreeSitsAtTheHome) {
  const HashRing ring({"n1", "n2", "n3"});
  const auto walk = ring.walk("fn");
  auto four = reserved_shares(ring, "fn", 4);
  EXPECT_EQ(four[walk[0]], 2);
  EXPECT_EQ(four[walk[1]], 1);
  EXPECT_EQ(four[walk[2]], 1);
  auto one = reserved_shares(ring, "fn", 1);
  EXPECT_EQ(one[walk[0]], 1);
  EXPECT_EQ(one[walk[1]] + one[walk[2]], 0);
}

TEST(ReservationSplitTest, ALoneNodeHoldsTheWholeReservationAndAnEmptyRingNone) {
  EXPECT_EQ(reserved_shares(HashRing({"n1"}), "fn", 7), std::vector<int>{7});
  EXPECT_TRUE(reserved_shares(HashRing({}), "fn", 7).empty());
  EXPECT_EQ(reserved_shares(HashRing({"n1", "n2"}), "fn", 0), (std::vector<int>{0, 0}));
}

TEST(ReservationSplitTest, ANodeLeavingReSplitsOverTheOthers) {
  const HashRing three({"n1", "n2", "n3"});
  const HashRing two({"n1", "n3"});
  const auto shares = reserved_shares(two, "fn", 4);
  EXPECT_EQ(shares, (std::vector<int>{2, 2}));
  EXPECT_EQ(std::accumulate(shares.begin(), shares.end(), 0), 4);
  EXPECT_EQ(reserved_shares(three, "fn", 4).size(), 3u);
}

}  // namespace
