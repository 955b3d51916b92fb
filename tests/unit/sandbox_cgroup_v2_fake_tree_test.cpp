// The cgroup v2 layout written against a fake tree: supervisor move, subtree_control, limit files.
#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>

#include "sandbox/cgroup.hpp"
#include "tests/unit/sandbox_cgroup_fake_tree.hpp"

namespace sandbox {
namespace {

class CgroupV2FakeTree : public ::testing::Test {
 protected:
  void SetUp() override {
    tree.write("unified/daemon/cgroup.controllers",
               "cpuset cpu io memory hugetlb pids rdma misc\n");
    tree.write("unified/daemon/cgroup.subtree_control", "");
    tree.write("unified/daemon/cgroup.procs", std::to_string(::getpid()) + "\n");
    host.unified = Hierarchy{tree.path("unified"), "/daemon"};
    host.unified_has_controllers = true;
    host.fake_tree = true;
    options.instance_id = "inst";
    options.state_dir = tree.path("state");
    options.owners_dir = tree.path("owners");
  }
  std::unique_ptr<CgroupManager> open_manager() {
    auto m = CgroupManager::open(host, options);
    if (!m) ADD_FAILURE() << m.error().to_string();
    return m ? std::move(*m) : nullptr;
  }

  cgtest::FakeTree tree;
  CgroupHost host;
  CgroupManager::Options options;
};

TEST_F(CgroupV2FakeTree, OpenMovesDaemonIntoSupervisorAndEnablesControllersDownToInstance) {
  auto m = open_manager();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->version(), CgroupVersion::V2);
  EXPECT_EQ(tree.read("unified/daemon/supervisor/cgroup.procs"), std::to_string(::getpid()));
  EXPECT_EQ(tree.read("unified/daemon/cgroup.subtree_control"), "+memory +cpu +pids");
  EXPECT_EQ(tree.read("unified/daemon/runtimed/cgroup.subtree_control"), "+memory +cpu +pids");
  EXPECT_EQ(tree.read("unified/daemon/runtimed/inst/cgroup.subtree_control"), "+memory +cpu +pids");
}

TEST_F(CgroupV2FakeTree, TheEnvironmentsSubtreeWeighsOneThreadPerCpuUnlessTheParentIsTheOperators) {
  cpu_set_t set;
  ASSERT_EQ(::sched_getaffinity(0, sizeof set, &set), 0);
  const std::string weight = std::to_string(std::min(100 * CPU_COUNT(&set), 10000));
  {
    auto m = open_manager();
    ASSERT_TRUE(m);
    EXPECT_EQ(tree.read("unified/daemon/runtimed/cpu.weight"), weight);
    EXPECT_EQ(tree.read("unified/daemon/runtimed/inst/cpu.weight"), weight);
  }
  options.parent = "/runtimed.slice/rt";
  tree.write("unified/cgroup.controllers", "cpu memory pids\n");
  auto m = open_manager();
  ASSERT_TRUE(m);
  EXPECT_FALSE(tree.exists("unified/runtimed.slice/rt/cpu.weight"));
  EXPECT_EQ(tree.read("unified/runtimed.slice/rt/inst/cpu.weight"), weight);
}

TEST_F(CgroupV2FakeTree, MissingDelegatedControllerFailsNamingItAndMovesNothing) {
  tree.write("unified/daemon/cgroup.controllers", "cpu io pids\n");
  auto m = CgroupManager::open(host, options);
  ASSERT_FALSE(m);
  std::string msg = m.error().to_string();
  EXPECT_NE(msg.find("not delegated"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'memory'"), std::string::npos) << msg;
  EXPECT_FALSE(tree.exists("unified/daemon/supervisor"));
  EXPECT_EQ(tree.read("unified/daemon/cgroup.subtree_control"), "");
}

TEST_F(CgroupV2FakeTree, ControllerNameMustMatchWholeWord) {
  tree.write("unified/daemon/cgroup.controllers", "cpuset memory pids\n");  // cpuset is not cpu
  auto m = CgroupManager::open(host, options);
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().to_string().find("'cpu'"), std::string::npos) << m.error().to_string();
}

TEST_F(CgroupV2FakeTree, ApplyWritesLimitsToV2Files) {
  auto m = open_manager();
  ASSERT_TRUE(m);
  auto env = m->create("env1");
  ASSERT_TRUE(env) << env.error().to_string();
  ASSERT_TRUE((*env)->apply(CgroupLimits{.memory_mb = 128, .pids_max = 1024, .cpu_quota = false}));
  const std::string dir = "unified/daemon/runtimed/inst/env1/";
  EXPECT_EQ(tree.read(dir + "memory.max"), "134217728");
  EXPECT_EQ(tree.read(dir + "memory.swap.max"), "0");
  EXPECT_EQ(tree.read(dir + "cpu.weight"), "7");
  EXPECT_EQ(tree.read(dir + "cpu.max"), "max 100000");
  EXPECT_EQ(tree.read(dir + "pids.max"), "1024");
}

TEST_F(CgroupV2FakeTree, CpuQuotaLandsInCpuMax) {
  auto m = open_manager();
  ASSERT_TRUE(m);
  auto env = m->create("env1");
  ASSERT_TRUE(env);
  ASSERT_TRUE((*env)->apply(CgroupLimits{.memory_mb = 3538, .pids_max = 64, .cpu_quota = true}));
  EXPECT_EQ(tree.read("unified/daemon/runtimed/inst/env1/cpu.max"), "200000 100000");
  EXPECT_EQ(tree.read("unified/daemon/runtimed/inst/env1/cpu.weight"), "200");
  EXPECT_EQ(tree.read("unified/daemon/runtimed/inst/env1/pids.max"), "64");
}

TEST_F(CgroupV2FakeTree, AttachWritesPidAndFreezeWritesCgroupFreeze) {
  auto m = open_manager();
  ASSERT_TRUE(m);
  auto env = m->create("env1");
  ASSERT_TRUE(env);
  EXPECT_EQ((*env)->unified_dir(), tree.path("unified/daemon/runtimed/inst/env1"));
  ASSERT_TRUE((*env)->attach(4242));
  EXPECT_EQ(tree.read("unified/daemon/runtimed/inst/env1/cgroup.procs"), "4242");
  ASSERT_TRUE((*env)->freeze());
  EXPECT_EQ(tree.read("unified/daemon/runtimed/inst/env1/cgroup.freeze"), "1");
  ASSERT_TRUE((*env)->thaw());
  EXPECT_EQ(tree.read("unified/daemon/runtimed/inst/env1/cgroup.freeze"), "0");
  ASSERT_TRUE((*env)->kill_all());
  EXPECT_EQ(tree.read("unified/daemon/runtimed/inst/env1/cgroup.kill"), "1");
}

TEST_F(CgroupV2FakeTree, StatsComeFromPeakEventsAndCgroupEvents) {
  auto m = open_manager();
  ASSERT_TRUE(m);
  auto env = m->create("env1");
  ASSERT_TRUE(env);
  const std::string dir = "unified/daemon/runtimed/inst/env1/";
  tree.write(dir + "memory.current", "1000\n");
  EXPECT_EQ((*env)->memory_peak_bytes(), 1000u);  // no memory.peak before Linux 5.19
  tree.write(dir + "memory.peak", "5000\n");
  EXPECT_EQ((*env)->memory_peak_bytes(), 5000u);
  EXPECT_EQ((*env)->memory_current_bytes(), 1000u);
  tree.write(dir + "memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\noom_group_kill 0\n");
  EXPECT_EQ((*env)->oom_kill_count(), 2u);
  tree.write(dir + "cgroup.events", "populated 1\nfrozen 0\n");
  EXPECT_TRUE((*env)->populated());
  tree.write(dir + "cgroup.events", "populated 0\nfrozen 0\n");
  EXPECT_FALSE((*env)->populated());
}

TEST_F(CgroupV2FakeTree, DestroyAndManagerCloseRemoveEverythingButParentAndSupervisor) {
  auto m = open_manager();
  ASSERT_TRUE(m);
  auto env = m->create("env1");
  ASSERT_TRUE(env);
  EXPECT_TRUE(tree.exists("owners/inst"));
  ASSERT_TRUE((*env)->destroy());
  EXPECT_FALSE(tree.exists("unified/daemon/runtimed/inst/env1"));
  ASSERT_TRUE((*env)->destroy()) << "destroy is idempotent";
  env->reset();
  m.reset();
  EXPECT_FALSE(tree.exists("unified/daemon/runtimed/inst"));
  EXPECT_FALSE(tree.exists("owners/inst"));
  EXPECT_TRUE(tree.exists("unified/daemon/supervisor"));
}

TEST_F(CgroupV2FakeTree, AbsoluteParentIsTakenFromRootWithoutMovingTheDaemon) {
  options.parent = "/runtimed.slice/rt";
  tree.write("unified/cgroup.controllers", "cpu memory pids\n");
  auto m = open_manager();
  ASSERT_TRUE(m);
  EXPECT_EQ(tree.read("unified/cgroup.subtree_control"), "+memory +cpu +pids");
  EXPECT_EQ(tree.read("unified/runtimed.slice/cgroup.subtree_control"), "+memory +cpu +pids");
  EXPECT_EQ(tree.read("unified/runtimed.slice/rt/inst/cgroup.subtree_control"),
            "+memory +cpu +pids");
  EXPECT_FALSE(tree.exists("unified/daemon/supervisor"));
  auto env = m->create("e");
  ASSERT_TRUE(env);
  EXPECT_TRUE(tree.exists("unified/runtimed.slice/rt/inst/e"));
}

TEST_F(CgroupV2FakeTree, OwnCgroupAlreadySupervisorIsNotNestedAgain) {
  tree.write("unified/daemon/supervisor/cgroup.procs", "");
  host.unified->own_path = "/daemon/supervisor";
  auto m = open_manager();
  ASSERT_TRUE(m);
  EXPECT_FALSE(tree.exists("unified/daemon/supervisor/supervisor"));
  EXPECT_TRUE(tree.exists("unified/daemon/runtimed/inst"));
}

TEST_F(CgroupV2FakeTree, SecondInstanceOnSameStateDirIsRefused) {
  auto first = open_manager();
  ASSERT_TRUE(first);
  options.instance_id = "other";
  auto second = CgroupManager::open(host, options);
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().to_string().find("another runtimed instance"), std::string::npos)
      << second.error().to_string();
}

TEST_F(CgroupV2FakeTree, BadNamesAreRejected) {
  options.parent = "/";
  EXPECT_FALSE(CgroupManager::open(host, options));
  options.parent = "../escape";
  EXPECT_FALSE(CgroupManager::open(host, options));
  options.parent = "runtimed";
  options.instance_id = "a/b";
  EXPECT_FALSE(CgroupManager::open(host, options));
  options.instance_id = "inst";
  auto m = open_manager();
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->create(".."));
  EXPECT_FALSE(m->create("x/y"));
  EXPECT_FALSE(m->create(""));
}

}  // namespace
}  // namespace sandbox
