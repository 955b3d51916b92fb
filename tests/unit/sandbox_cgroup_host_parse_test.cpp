// CgroupHost::parse over real-looking /proc/self/mountinfo and /proc/self/cgroup samples.
#include <gtest/gtest.h>

#include "sandbox/cgroup.hpp"

namespace sandbox {
namespace {

// This build machine: v1 controllers on separate mounts, an empty cgroup2 at unified/, and the
// process in a memory cgroup below the root.
constexpr std::string_view kHybridMountinfo =
    "22 1 0:21 / / rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w\n"
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
    "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
    "38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
constexpr std::string_view kHybridCgroup =
    "9:name=systemd:/\n8:pids:/\n7:blkio:/\n6:freezer:/\n5:devices:/\n"
    "4:memory:/process_api/b207be451ee250ea821bace5d51d45f2\n3:cpuset:/\n2:cpuacct:/\n1:cpu:/\n0::/"
    "\n";

TEST(CgroupHostParse, HybridHostMapsEachControllerToItsMountAndOwnPath) {
  auto host = CgroupHost::parse(kHybridMountinfo, kHybridCgroup);
  ASSERT_TRUE(host) << host.error().to_string();
  ASSERT_TRUE(host->v1.contains("memory"));
  EXPECT_EQ(host->v1.at("memory").mount_point, "/sys/fs/cgroup/memory");
  EXPECT_EQ(host->v1.at("memory").own_path, "/process_api/b207be451ee250ea821bace5d51d45f2");
  EXPECT_EQ(host->v1.at("cpu").mount_point, "/sys/fs/cgroup/cpu");
  EXPECT_EQ(host->v1.at("cpu").own_path, "/");
  EXPECT_EQ(host->v1.at("cpuacct").mount_point, "/sys/fs/cgroup/cpuacct");
  EXPECT_EQ(host->v1.at("pids").mount_point, "/sys/fs/cgroup/pids");
  EXPECT_EQ(host->v1.at("freezer").mount_point, "/sys/fs/cgroup/freezer");
  ASSERT_TRUE(host->unified);
  EXPECT_EQ(host->unified->mount_point, "/sys/fs/cgroup/unified");
  EXPECT_EQ(host->unified->own_path, "/");
  EXPECT_FALSE(host->unified_has_controllers);
}

TEST(CgroupHostParse, NamedHierarchyIsNotAController) {
  auto host = CgroupHost::parse(kHybridMountinfo, kHybridCgroup);
  ASSERT_TRUE(host);
  for (const auto& [name, h] : host->v1) {
    EXPECT_NE(h.mount_point, "/sys/fs/cgroup/systemd") << name;
  }
  EXPECT_FALSE(host->v1.contains("systemd"));
  EXPECT_FALSE(host->v1.contains("name=systemd"));
}

TEST(CgroupHostParse, CoMountedControllersShareOneHierarchy) {
  constexpr std::string_view mountinfo =
      "25 24 0:22 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:9 - cgroup "
      "cgroup rw,cpu,cpuacct\n"
      "26 24 0:23 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid shared:10 - cgroup cgroup "
      "rw,net_cls,net_prio\n"
      "27 24 0:24 / /sys/fs/cgroup/systemd rw,nosuid shared:11 - cgroup cgroup "
      "rw,xattr,name=systemd\n";
  constexpr std::string_view cgroup =
      "3:cpu,cpuacct:/system.slice/runtimed.service\n2:net_cls,net_prio:/\n"
      "1:name=systemd:/system.slice/runtimed.service\n";
  auto host = CgroupHost::parse(mountinfo, cgroup);
  ASSERT_TRUE(host) << host.error().to_string();
  EXPECT_EQ(host->v1.at("cpu").mount_point, "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(host->v1.at("cpuacct").mount_point, "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(host->v1.at("cpu").own_path, "/system.slice/runtimed.service");
  EXPECT_TRUE(host->v1.contains("net_prio"));
  EXPECT_FALSE(host->v1.contains("xattr"));
  EXPECT_FALSE(host->unified);
}

TEST(CgroupHostParse, PureV2HostHasControllersOnUnifiedMount) {
  constexpr std::string_view mountinfo =
      "24 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw\n"
      "35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 "
      "rw,nsdelegate,memory_recursiveprot\n";
  auto host = CgroupHost::parse(mountinfo, "0::/system.slice/runtimed.service\n");
  ASSERT_TRUE(host) << host.error().to_string();
  EXPECT_TRUE(host->v1.empty());
  ASSERT_TRUE(host->unified);
  EXPECT_EQ(host->unified->mount_point, "/sys/fs/cgroup");
  EXPECT_EQ(host->unified->own_path, "/system.slice/runtimed.service");
  EXPECT_TRUE(host->unified_has_controllers);
}

TEST(CgroupHostParse, ContainerMountRootIsStrippedFromOwnPath) {
  // Docker without a cgroup namespace: the mount shows only the container's part of the tree.
  constexpr std::string_view mountinfo =
      "700 690 0:29 /docker/4f1c2a /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime master:15 "
      "- cgroup cgroup rw,memory\n"
      "701 690 0:30 /docker/4f1c2a /sys/fs/cgroup/pids rw,nosuid master:16 - cgroup cgroup "
      "rw,pids\n"
      "702 690 0:31 /docker/4f1c2a /sys/fs/cgroup/unified rw,nosuid master:17 - cgroup2 cgroup2 "
      "rw\n";
  constexpr std::string_view cgroup =
      "5:memory:/docker/4f1c2a/daemon\n4:pids:/docker/4f1c2a\n0::/docker/4f1c2a/x/y\n";
  auto host = CgroupHost::parse(mountinfo, cgroup);
  ASSERT_TRUE(host) << host.error().to_string();
  EXPECT_EQ(host->v1.at("memory").own_path, "/daemon");
  EXPECT_EQ(host->v1.at("pids").own_path, "/");
  EXPECT_EQ(host->unified->own_path, "/x/y");
}

TEST(CgroupHostParse, PureV2ContainerWithMountRootBelowTreeRoot) {
  constexpr std::string_view mountinfo =
      "812 800 0:30 /kubepods/pod1/ctr /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 "
      "cgroup2 rw,nsdelegate\n";
  auto host = CgroupHost::parse(mountinfo, "0::/kubepods/pod1/ctr\n");
  ASSERT_TRUE(host);
  EXPECT_EQ(host->unified->own_path, "/");
  EXPECT_TRUE(host->unified_has_controllers);
}

TEST(CgroupHostParse, HierarchyNotShowingOurCgroupIsLeftOut) {
  constexpr std::string_view mountinfo =
      "700 690 0:29 /docker/other /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
      "701 690 0:30 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n";
  // "/docker/otherwise" shares a string prefix with the mount root but is not below it.
  auto host = CgroupHost::parse(mountinfo, "5:memory:/docker/otherwise\n4:pids:/a\n");
  ASSERT_TRUE(host);
  EXPECT_FALSE(host->v1.contains("memory"));
  EXPECT_EQ(host->v1.at("pids").own_path, "/a");
}

TEST(CgroupHostParse, EscapedMountPointIsUnescaped) {
  constexpr std::string_view mountinfo =
      "41 31 0:38 / /mnt/my\\040cgroups rw,relatime - cgroup2 cgroup2 rw\n";
  auto host = CgroupHost::parse(mountinfo, "0::/\n");
  ASSERT_TRUE(host);
  EXPECT_EQ(host->unified->mount_point, "/mnt/my cgroups");
}

TEST(CgroupHostParse, MalformedProcSelfCgroupLineFails) {
  auto host = CgroupHost::parse(kHybridMountinfo, "garbage\n");
  ASSERT_FALSE(host);
  EXPECT_NE(host.error().to_string().find("/proc/self/cgroup"), std::string::npos);
}

TEST(CgroupHostParse, DetectOnThisMachineFindsMemoryHierarchy) {
  auto host = CgroupHost::detect();
  ASSERT_TRUE(host) << host.error().to_string();
  // Every Linux host this runs on has memory accounting, either as v1 or on the cgroup2 mount.
  EXPECT_TRUE(host->v1.contains("memory") || host->unified_has_controllers);
}

}  // namespace
}  // namespace sandbox
