// CPU shares, weight and CFS quota derived from an environment's memory size (1,769 MB = 1 vCPU).
#include <algorithm>
#include <cstdint>

#include "sandbox/cgroup.hpp"

namespace sandbox {

namespace {

// round(scale * memory_mb / 1769), halves up; 128-bit so no memory size overflows.
uint64_t scaled_round(uint64_t scale, uint64_t memory_mb) {
  unsigned __int128 num = static_cast<unsigned __int128>(scale) * memory_mb * 2 + kMegabytesPerVcpu;
  unsigned __int128 q = num / (2 * kMegabytesPerVcpu);
  return q > UINT64_MAX ? UINT64_MAX : static_cast<uint64_t>(q);
}

constexpr uint64_t kCfsPeriodUs = 100000;
constexpr uint64_t kMinCfsQuotaUs = 1000;  // the kernel refuses a quota below 1 ms

}  // namespace

uint64_t cpu_shares_for_memory(uint64_t memory_mb) {
  return std::max<uint64_t>(scaled_round(1024, memory_mb), 2);  // 2 is cpu.shares' minimum
}

uint64_t cpu_weight_for_memory(uint64_t memory_mb) {
  return std::clamp<uint64_t>(scaled_round(100, memory_mb), 1, 10000);
}

uint64_t workload_cpu_shares(uint64_t cpus) {
  return std::clamp<uint64_t>(cpus * 1024, 2, 262144);  // cpu.shares' range
}

uint64_t workload_cpu_weight(uint64_t cpus) {
  return std::clamp<uint64_t>(cpus * 100, 1, 10000);  // cpu.weight's range
}

CfsQuota cpu_quota_for_memory(uint64_t memory_mb) {
  uint64_t quota =
      std::clamp<uint64_t>(scaled_round(kCfsPeriodUs, memory_mb), kMinCfsQuotaUs, INT64_MAX);
  return CfsQuota{static_cast<int64_t>(quota), static_cast<int64_t>(kCfsPeriodUs)};
}

}  // namespace sandbox
