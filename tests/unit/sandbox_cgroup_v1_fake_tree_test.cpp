// The cgroup v1 layout written against a fake tree: directories per hierarchy, limit files,
// freezer, and which leftover subtrees open() removes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include "sandbox/cgroup.hpp"
#include "sandbox/unique_fd.hpp"
#include "tests/unit/sandbox_cgroup_fake_tree.hpp"

namespace sandbox {
namespace {

class CgroupV1FakeTree : public ::testing::Test {
 protected:
  void SetUp() override {
    host.v1["memory"] = Hierarchy{tree.dir("memory"), "/process_api/abc"};
    host.v1["cpu"] = Hierarchy{tree.dir("cpu,cpuacct"), "/"};
    host.v1["cpuacct"] = Hierarchy{tree.dir("cpu,cpuacct"), "/"};
    host.v1["pids"] = Hierarchy{tree.dir("pids"), "/"};
    host.v1["freezer"] = Hierarchy{tree.dir("freezer"), "/"};
    host.fake_tree = true;
    options.instance_id = "inst";
    options.state_dir = tree.path("state");
    options.owners_dir = tree.path("owners");
  }
  void add_unified() { host.unified = Hierarchy{tree.dir("unified"), "/"}; }
  std::unique_ptr<CgroupManager> open_manager() {
    auto m = CgroupManager::open(host, options);
    if (!m) ADD_FAILURE() << m.error().to_string();
    return m ? std::move(*m) : nullptr;
  }
  std::unique_ptr<EnvironmentCgroup> create(CgroupManager& m, const char* name) {
    auto env = m.create(name);
    if (!env) ADD_FAILURE() << env.error().to_string();
    return env ? std::move(*env) : nullptr;
  }

  cgtest::FakeTree tree;
  CgroupHost host;
  CgroupManager::Options options;
};

TEST_F(CgroupV1FakeTree, EnvironmentGetsADirUnderOwnCgroupInEachHierarchy) {
  auto m = open_manager();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->version(), CgroupVersion::V1);
  auto env = create(*m, "env1");
  ASSERT_TRUE(env);
  EXPECT_TRUE(tree.exists("memory/process_api/abc/runtimed/inst/env1"));
  EXPECT_TRUE(tree.exists("cpu,cpuacct/runtimed/inst/env1"));
  EXPECT_TRUE(tree.exists("pids/runtimed/inst/env1"));
  EXPECT_TRUE(tree.exists("freezer/runtimed/inst/env1"));
  EXPECT_EQ(env->unified_dir(), std::filesystem::path{});
}

TEST_F(CgroupV1FakeTree, ApplyWritesMemoryWithSwapOffCpuSharesAndPids) {
  auto m = open_manager();
  ASSERT_TRUE(m);
  auto env = create(*m, "env1");
  ASSERT_TRUE(env);
  ASSERT_TRUE(env->apply(CgroupLimits{.memory_mb = 128, .pids_max = 1024, .cpu_quota = false}));
  const std::string mem = "memory/process_api/abc/runtimed/inst/env1/";
  EXPECT_EQ(tree.read(mem + "memory.limit_in_bytes"), "134217728");
  EXPECT_EQ(tree.read(mem + "memory.memsw.limit_in_bytes"), "134217728");
  EXPECT_EQ(tree.read(mem + "memory.swappiness"), "0");
  EXPECT_EQ(tree.read("cpu,cpuacct/runtimed/inst/env1/cpu.shares"), "74");
  EXPECT_EQ(tree.read("cpu,cpuacct/runtimed/inst/env1/cpu.cfs_quota_us"), "-1");
  EXPECT_EQ(tree.read("pids/runtimed/inst/env1/pids.max"), "1024");
}

TEST_F(CgroupV1FakeTree, CpuQuotaWritesPeriodAndQuota) {
  auto m = open_manager();
  ASSERT_TRUE(m);
  auto env = create(*m, "env1");
  ASSERT_TRUE(env);
  ASSERT_TRUE(env->apply(CgroupLimits{.memory_mb = 128, .pids_max = 10, .cpu_quota = true}));
  EXPECT_EQ(tree.read("cpu,cpuacct/runtimed/inst/env1/cpu.cfs_period_us"), "100000");
  EXPECT_EQ(tree.read("cpu,cpuacct/runtimed/inst/env1/cpu.cfs_quota_us"), "7236");
}

TEST_F(CgroupV1FakeTree, WithoutCgroup2FreezeUsesV1Freezer) {
  auto m = open_manager();
  ASSERT_TRUE(m);
  auto env = create(*m, "env1");
  ASSERT_TRUE(env);
  ASSERT_TRUE(env->freeze());
  EXPECT_EQ(tree.read("freezer/runtimed/inst/env1/freezer.state"), "FROZEN");
  ASSERT_TRUE(env->thaw());
  EXPECT_EQ(tree.read("freezer/runtimed/inst/env1/freezer.state"), "THAWED");
}

TEST_F(CgroupV1FakeTree, WithoutCgroup2FreezerIsRequired) {
  host.v1.erase("freezer");
  auto m = CgroupManager::open(host, options);
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().to_string().find("freezer"), std::string::npos) << m.error().to_string();
}

TEST_F(CgroupV1FakeTree, MissingMemoryHierarchyFailsNamingIt) {
  host.v1.erase("memory");
  auto m = CgroupManager::open(host, options);
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().to_string().find("memory"), std::string::npos) << m.error().to_string();
}

TEST_F(CgroupV1FakeTree, HybridHostFreezesAndKillsThroughCgroup2) {
  add_unified();
  auto m = open_manager();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->version(), CgroupVersion::V1);
  auto env = create(*m, "env1");
  ASSERT_TRUE(env);
  EXPECT_EQ(env->unified_dir(), tree.path("unified/runtimed/inst/env1"));
  ASSERT_TRUE(env->freeze());
  EXPECT_EQ(tree.read("unified/runtimed/inst/env1/cgroup.freeze"), "1");
  EXPECT_FALSE(tree.exists("freezer/runtimed/inst/env1/freezer.state"));
  ASSERT_TRUE(env->kill_all());
  EXPECT_EQ(tree.read("unified/runtimed/inst/env1/cgroup.kill"), "1");
}

TEST_F(CgroupV1FakeTree, AttachWritesPidInEveryHierarchy) {
  add_unified();
  auto m = open_manager();
  ASSERT_TRUE(m);
  auto env = create(*m, "env1");
  ASSERT_TRUE(env);
  ASSERT_TRUE(env->attach(4242));
  for (const char* dir : {"memory/process_api/abc", "cpu,cpuacct", "pids", "freezer", "unified"}) {
    EXPECT_EQ(tree.read(std::string(dir) + "/runtimed/inst/env1/cgroup.procs"), "4242") << dir;
  }
}

TEST_F(CgroupV1FakeTree, StatsComeFromV1MemoryFiles) {
  auto m = open_manager();
  ASSERT_TRUE(m);
  auto env = create(*m, "env1");
  ASSERT_TRUE(env);
  const std::string mem = "memory/process_api/abc/runtimed/inst/env1/";
  tree.write(mem + "memory.max_usage_in_bytes", "9000\n");
  tree.write(mem + "memory.usage_in_bytes", "4000\n");
  tree.write(mem + "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
  EXPECT_EQ(env->memory_peak_bytes(), 9000u);
  EXPECT_EQ(env->memory_current_bytes(), 4000u);
  EXPECT_EQ(env->oom_kill_count(), 3u);
  tree.write(mem + "cgroup.procs", "");
  EXPECT_FALSE(env->populated());
  tree.write("pids/runtimed/inst/env1/cgroup.procs", "77\n");
  EXPECT_TRUE(env->populated());
}

TEST_F(CgroupV1FakeTree, DestroyRemovesDirsAndManagerRemovesInstance) {
  add_unified();
  auto m = open_manager();
  ASSERT_TRUE(m);
  auto env = create(*m, "env1");
  ASSERT_TRUE(env);
  ASSERT_TRUE(env->destroy());
  for (const char* dir : {"memory/process_api/abc", "cpu,cpuacct", "pids", "freezer", "unified"}) {
    EXPECT_FALSE(tree.exists(std::string(dir) + "/runtimed/inst/env1")) << dir;
    EXPECT_TRUE(tree.exists(std::string(dir) + "/runtimed/inst")) << dir;
  }
  m.reset();
  for (const char* dir : {"memory/process_api/abc", "cpu,cpuacct", "pids", "freezer", "unified"}) {
    EXPECT_FALSE(tree.exists(std::string(dir) + "/runtimed/inst")) << dir;
  }
  EXPECT_FALSE(tree.exists("owners/inst"));
}

// Leftover subtrees under <parent> as a crashed or still running instance leaves them.
class CgroupV1Leftovers : public CgroupV1FakeTree {
 protected:
  void make_subtree(const std::string& id) {
    for (const char* dir : {"memory/process_api/abc", "cpu,cpuacct", "pids", "freezer"})
      tree.write(std::string(dir) + "/runtimed/" + id + "/env/cgroup.procs", "");
  }
  bool subtree_exists(const std::string& id) {
    return tree.exists("memory/process_api/abc/runtimed/" + id) ||
           tree.exists("pids/runtimed/" + id);
  }
  // Records `id` as owned by an instance whose state dir is state-<id>.
  std::filesystem::path record_owner(const std::string& id) {
    auto state = tree.dir("state-" + id);
    tree.write("state-" + id + "/lock", "");
    tree.write("owners/" + id, state.string() + "\n");
    return state / "lock";
  }
};

TEST_F(CgroupV1Leftovers, SubtreeOfDeadOwnerIsRemoved) {
  make_subtree("dead");
  record_owner("dead");
  auto m = open_manager();
  ASSERT_TRUE(m);
  EXPECT_FALSE(subtree_exists("dead"));
  EXPECT_FALSE(tree.exists("owners/dead"));
}

TEST_F(CgroupV1Leftovers, SubtreeOfLiveOwnerIsLeftAlone) {
  make_subtree("alive");
  auto lock_path = record_owner("alive");
  UniqueFd held(::open(lock_path.c_str(), O_RDWR | O_CLOEXEC));
  ASSERT_TRUE(held);
  ASSERT_EQ(::flock(held.get(), LOCK_EX | LOCK_NB), 0);
  auto m = open_manager();
  ASSERT_TRUE(m);
  EXPECT_TRUE(subtree_exists("alive"));
  EXPECT_TRUE(tree.exists("owners/alive"));
}

TEST_F(CgroupV1Leftovers, SubtreeWithoutOwnerRecordIsLeftAlone) {
  make_subtree("stranger");
  auto m = open_manager();
  ASSERT_TRUE(m);
  EXPECT_TRUE(subtree_exists("stranger"));
}

TEST_F(CgroupV1Leftovers, OwnSubtreeFromPreviousCrashIsReplaced) {
  make_subtree("inst");
  tree.write("memory/process_api/abc/runtimed/inst/env/memory.limit_in_bytes", "1");
  auto m = open_manager();
  ASSERT_TRUE(m);
  EXPECT_TRUE(tree.exists("memory/process_api/abc/runtimed/inst"));
  EXPECT_FALSE(tree.exists("memory/process_api/abc/runtimed/inst/env"));
}

TEST_F(CgroupV1Leftovers, SubtreeOfEarlierIdWithOurStateDirIsRemoved) {
  make_subtree("old-id");
  tree.dir("state");
  tree.write("owners/old-id", tree.path("state").string() + "\n");
  auto m = open_manager();
  ASSERT_TRUE(m);
  EXPECT_FALSE(subtree_exists("old-id"));
}

}  // namespace
}  // namespace sandbox
