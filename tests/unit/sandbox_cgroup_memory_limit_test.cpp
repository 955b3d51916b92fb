// The daemon's own memory limit (it sizes the default memory budget), read over fake v1 and v2
// trees: the lowest limit on the path from its cgroup to the root.
#include <gtest/gtest.h>

#include "sandbox/cgroup.hpp"
#include "tests/unit/sandbox_cgroup_fake_tree.hpp"

namespace sandbox {
namespace {

TEST(CgroupMemoryLimit, V1TakesTheLowestLimitOfItsCgroupAndAncestors) {
  cgtest::FakeTree tree;
  tree.write("memory/memory.limit_in_bytes", "9223372036854771712\n");
  tree.write("memory/team/memory.limit_in_bytes", "4294967296\n");
  tree.write("memory/team/daemon/memory.limit_in_bytes", "9223372036854771712\n");
  CgroupHost host;
  host.v1["memory"] = Hierarchy{tree.path("memory"), "/team/daemon"};
  host.fake_tree = true;
  EXPECT_EQ(host.memory_limit_bytes(), 4294967296u);
}

TEST(CgroupMemoryLimit, V2ReadsMemoryMaxAndMaxMeansNoLimit) {
  cgtest::FakeTree tree;
  tree.write("unified/system.slice/memory.max", "max\n");
  tree.write("unified/system.slice/runtimed.service/memory.max", "max\n");
  tree.write("unified/system.slice/runtimed.service/supervisor/memory.max", "max\n");
  CgroupHost host;
  host.unified = Hierarchy{tree.path("unified"), "/system.slice/runtimed.service/supervisor"};
  host.unified_has_controllers = true;
  host.fake_tree = true;
  EXPECT_EQ(host.memory_limit_bytes(), std::nullopt);
  // A limit on the service binds the supervisor child the daemon moved itself into.
  tree.write("unified/system.slice/runtimed.service/memory.max", "2147483648\n");
  EXPECT_EQ(host.memory_limit_bytes(), 2147483648u);
}

TEST(CgroupMemoryLimit, NoMemoryHierarchyMeansNoLimit) {
  CgroupHost host;
  EXPECT_EQ(host.memory_limit_bytes(), std::nullopt);
}

}  // namespace
}  // namespace sandbox
