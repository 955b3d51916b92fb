// CPU shares, weight and CFS quota derived from memory size (1,769 MB = one vCPU).
#include <gtest/gtest.h>

#include "sandbox/cgroup.hpp"

namespace sandbox {
namespace {

TEST(CgroupMath, SharesAre74At128Mb) { EXPECT_EQ(cpu_shares_for_memory(128), 74u); }

TEST(CgroupMath, SharesAre1024AtOneVcpuAndScaleLinearly) {
  EXPECT_EQ(cpu_shares_for_memory(1769), 1024u);
  EXPECT_EQ(cpu_shares_for_memory(3538), 2048u);
  EXPECT_EQ(cpu_shares_for_memory(10240), 5928u);  // 5927.54
}

TEST(CgroupMath, SharesRoundToNearestNotDown) {
  EXPECT_EQ(cpu_shares_for_memory(129), 75u);  // 74.67
  EXPECT_EQ(cpu_shares_for_memory(130), 75u);  // 75.25
}

TEST(CgroupMath, SharesNeverBelowKernelMinimumOfTwo) {
  EXPECT_EQ(cpu_shares_for_memory(1), 2u);
  EXPECT_EQ(cpu_shares_for_memory(0), 2u);
}

TEST(CgroupMath, WeightRoundsAndClampsAtOneAndTenThousand) {
  EXPECT_EQ(cpu_weight_for_memory(128), 7u);  // 7.24
  EXPECT_EQ(cpu_weight_for_memory(150), 8u);  // 8.48 -> 8
  EXPECT_EQ(cpu_weight_for_memory(160), 9u);  // 9.04
  EXPECT_EQ(cpu_weight_for_memory(1769), 100u);
  EXPECT_EQ(cpu_weight_for_memory(1), 1u);  // 0.06
  EXPECT_EQ(cpu_weight_for_memory(0), 1u);
  EXPECT_EQ(cpu_weight_for_memory(176900), 10000u);
  EXPECT_EQ(cpu_weight_for_memory(1000000), 10000u);
}

TEST(CgroupMath, QuotaIsMemoryShareOfA100msPeriod) {
  auto q = cpu_quota_for_memory(128);
  EXPECT_EQ(q.period_us, 100000);
  EXPECT_EQ(q.quota_us, 7236);  // 7235.73
  EXPECT_EQ(cpu_quota_for_memory(1769).quota_us, 100000);
  EXPECT_EQ(cpu_quota_for_memory(3538).quota_us, 200000);
}

TEST(CgroupMath, QuotaNeverBelowOneMillisecond) {
  EXPECT_EQ(cpu_quota_for_memory(10).quota_us, 1000);  // 565 would be refused by the kernel
  EXPECT_EQ(cpu_quota_for_memory(18).quota_us, 1018);
}

TEST(CgroupMath, HugeMemoryDoesNotOverflow) {
  EXPECT_EQ(cpu_weight_for_memory(UINT64_MAX), 10000u);
  EXPECT_GT(cpu_shares_for_memory(UINT64_MAX / 1024), 1u << 30);
  EXPECT_GT(cpu_quota_for_memory(UINT64_MAX).quota_us, 0);
}

}  // namespace
}  // namespace sandbox
