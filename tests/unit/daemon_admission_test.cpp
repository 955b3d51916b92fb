// Admission's counters: the host's limit, reservations and the unreserved pool, the memory budget.
#include <gtest/gtest.h>

#include "runtimed/controller/admission.hpp"

namespace runtimed {
namespace {

TEST(Admission, AnAccountsMemoryShareIsCappedWithinTheBudget) {
  Admission admission(100, 1024);
  admission.set_account_memory_cap("111111111111", 256);
  EXPECT_TRUE(admission.memory_fits(256, "111111111111"));
  EXPECT_FALSE(admission.memory_fits(257, "111111111111"));
  admission.add_memory(128, "111111111111");
  admission.add_memory(128, "111111111111");
  EXPECT_FALSE(admission.account_memory_fits(128, "111111111111"));
  EXPECT_FALSE(admission.memory_fits(128, "111111111111"));
  // Others share what the budget has left; the daemon's own account ("") is uncapped.
  EXPECT_TRUE(admission.memory_fits(768, "222222222222"));
  EXPECT_TRUE(admission.memory_fits(768));
  EXPECT_FALSE(admission.memory_fits(769));
  EXPECT_EQ(admission.account_memory_used_mb("111111111111"), 256u);
  EXPECT_EQ(admission.memory_used_mb(), 256u);
  admission.remove_memory(128, "111111111111");
  EXPECT_TRUE(admission.memory_fits(128, "111111111111"));
  // Lifting the cap leaves only the budget.
  admission.set_account_memory_cap("111111111111", std::nullopt);
  EXPECT_TRUE(admission.memory_fits(896, "111111111111"));
  EXPECT_EQ(admission.account_memory_cap("111111111111"), std::nullopt);
}

TEST(Admission, AdmitsUpToTheConcurrencyLimitThenRefuses) {
  Admission admission(2, 1024);
  auto a = admission.acquire("f");
  auto b = admission.acquire("g");
  ASSERT_TRUE(a && b);
  auto c = admission.acquire("f");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error(), Admission::Refusal::ConcurrencyLimit);
  admission.release("f", *a);
  EXPECT_TRUE(admission.acquire("f"));
  EXPECT_EQ(admission.busy(), 2u);
}

TEST(Admission, AReservedFunctionIsHeldToItsReservationAndTakesItFromThePool) {
  Admission admission(3, 1024);
  admission.set_reserved("r", 1);
  EXPECT_EQ(admission.reserved("r"), 1);
  EXPECT_EQ(admission.capacity("other").limit, 2u);
  auto r = admission.acquire("r");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->reserved);
  auto refused = admission.acquire("r");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), Admission::Refusal::ReservedLimit);
  // The other functions share the two slots the reservation leaves.
  ASSERT_TRUE(admission.acquire("x"));
  ASSERT_TRUE(admission.acquire("y"));
  EXPECT_FALSE(admission.acquire("z"));
  EXPECT_EQ(admission.capacity("r").busy, 1u);
  EXPECT_EQ(admission.unreserved_busy(), 2u);
  admission.release("r", *r);
  EXPECT_EQ(admission.capacity("r").busy, 0u);
  EXPECT_EQ(admission.busy(), 2u);
}

TEST(Admission, RemovingAReservationWhileItRunsReleasesCleanly) {
  Admission admission(2, 1024);
  admission.set_reserved("r", 1);
  auto r = admission.acquire("r");
  ASSERT_TRUE(r);
  admission.set_reserved("r", std::nullopt);
  EXPECT_EQ(admission.total_reserved(), 0u);
  EXPECT_FALSE(admission.reserved("r"));
  admission.release("r", *r);
  EXPECT_EQ(admission.busy(), 0u);
  EXPECT_EQ(admission.unreserved_busy(), 0u);
  EXPECT_EQ(admission.capacity("r").limit, 2u);
}

TEST(Admission, ReservationsBeyondTheLimitLeaveAnEmptyPool) {
  Admission admission(2, 1024);
  admission.set_reserved("a", 2);
  admission.set_reserved("b", 1);
  EXPECT_EQ(admission.capacity("c").limit, 0u);
  EXPECT_FALSE(admission.acquire("c"));
  admission.set_reserved("b", std::nullopt);
  EXPECT_EQ(admission.total_reserved(), 2u);
}

TEST(Admission, MemoryBudgetCountsWhatEnvironmentsHold) {
  Admission admission(10, 512);
  EXPECT_TRUE(admission.memory_fits(512));
  admission.add_memory(256);
  EXPECT_TRUE(admission.memory_fits(256));
  EXPECT_FALSE(admission.memory_fits(257));
  admission.remove_memory(256);
  EXPECT_EQ(admission.memory_used_mb(), 0u);
}

}  // namespace
}  // namespace runtimed
