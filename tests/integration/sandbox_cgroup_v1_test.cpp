// The cgroup layer on this machine's real cgroup v1 hierarchies (plus the empty cgroup2 mount used
// for freeze and kill). Runs as root.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "sandbox/cgroup.hpp"
#include "sandbox/unique_fd.hpp"
#include "tests/integration/support.hpp"

namespace sandbox {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

bool lists_pid(const fs::path& dir, pid_t pid) {
  std::istringstream in(read_file(dir / "cgroup.procs"));
  for (std::string line; std::getline(in, line);)
    if (line == std::to_string(pid)) return true;
  return false;
}

// A forked child killed and reaped at scope exit if the test did not reap it.
class Child {
 public:
  // The child blocks until go() and then runs `body` (async-signal-safe code only).
  template <class F>
  explicit Child(F body) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(fds[1]);
      char c;
      if (::read(fds[0], &c, 1) != 1) ::_exit(3);
      body();
      ::_exit(0);
    }
    ::close(fds[0]);
    go_.reset(fds[1]);
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  void go() {
    char c = 1;
    ASSERT_EQ(::write(go_.get(), &c, 1), 1);
  }
  // waitpid's status, or -1 when the child is still running after `timeout`.
  int wait(std::chrono::milliseconds timeout = 5s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return status;
      }
      std::this_thread::sleep_for(5ms);
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
  UniqueFd go_;
};

bool killed_by_sigkill(int status) {
  return status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

// A counter in memory shared with a child that increments it as fast as it can.
struct SharedCounter {
  SharedCounter() {
    void* p = ::mmap(nullptr, sizeof(std::atomic<uint64_t>), PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::runtime_error("mmap");
    value = new (p) std::atomic<uint64_t>(0);
  }
  ~SharedCounter() { ::munmap(value, sizeof(*value)); }
  bool advances() const {
    uint64_t before = value->load();
    std::this_thread::sleep_for(150ms);
    return value->load() != before;
  }
  std::atomic<uint64_t>* value;
};

class CgroupV1Real : public ::testing::Test {
 protected:
  void SetUp() override {
    auto detected = CgroupHost::detect();
    ASSERT_TRUE(detected) << detected.error().to_string();
    host = *detected;
    if (host.unified_has_controllers || !host.v1.contains("memory"))
      GTEST_SKIP() << "not a cgroup v1 host";
    std::random_device rd;
    parent = "runtimed-test-" + std::to_string(rd()) + std::to_string(rd());
    options.parent = parent;
    options.instance_id = "inst";
    options.state_dir = state.path() / "state";
    options.owners_dir = state.path() / "owners";
  }

  void TearDown() override {
    if (parent.empty()) return;
    // Nothing of ours may be left: only the empty <parent> dirs, removed here.
    for (const auto& dir : parent_dirs()) {
      if (!fs::exists(dir)) continue;
      std::vector<std::string> children;
      for (const auto& e : fs::directory_iterator(dir))
        if (e.is_directory()) children.push_back(e.path().filename().string());
      EXPECT_TRUE(children.empty())
          << dir << " still has " << (children.empty() ? "" : children.front());
      EXPECT_EQ(::rmdir(dir.c_str()), 0) << dir << ": " << std::strerror(errno);
    }
  }

  // <parent> in every hierarchy the layer uses.
  std::vector<fs::path> parent_dirs() const {
    std::vector<fs::path> dirs;
    auto add = [&](const Hierarchy& h) {
      fs::path d = h.mount_point / fs::path(h.own_path).relative_path() / parent;
      if (std::find(dirs.begin(), dirs.end(), d) == dirs.end()) dirs.push_back(d);
    };
    for (const char* c : {"memory", "cpu", "pids", "freezer"})
      if (host.v1.contains(c)) add(host.v1.at(c));
    if (host.unified) add(*host.unified);
    return dirs;
  }
  fs::path env_dir(const std::string& controller, const std::string& env) const {
    const Hierarchy& h = controller == "unified" ? *host.unified : host.v1.at(controller);
    return h.mount_point / fs::path(h.own_path).relative_path() / parent / "inst" / env;
  }

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

  CgroupHost host;
  std::string parent;
  testsupport::TempDir state{"rt-cgroup-state"};
  CgroupManager::Options options;
};

TEST_F(CgroupV1Real, LimitsReadBackFromKernelFiles) {
  auto m = open_manager();
  ASSERT_TRUE(m);
  ASSERT_EQ(m->version(), CgroupVersion::V1);
  auto env = create(*m, "env");
  ASSERT_TRUE(env);
  ASSERT_TRUE(env->apply(CgroupLimits{.memory_mb = 128, .pids_max = 1024, .cpu_quota = false}));
  fs::path mem = env_dir("memory", "env");
  EXPECT_EQ(read_file(mem / "memory.limit_in_bytes"), "134217728");
  if (fs::exists(mem / "memory.memsw.limit_in_bytes")) {
    EXPECT_EQ(read_file(mem / "memory.memsw.limit_in_bytes"), "134217728");
  }
  EXPECT_EQ(read_file(mem / "memory.swappiness"), "0");
  EXPECT_EQ(read_file(env_dir("cpu", "env") / "cpu.shares"), "74");
  EXPECT_EQ(read_file(env_dir("cpu", "env") / "cpu.cfs_quota_us"), "-1");
  EXPECT_EQ(read_file(env_dir("pids", "env") / "pids.max"), "1024");
}

TEST_F(CgroupV1Real, TheEnvironmentsSubtreeWeighsOneThreadPerCpu) {
  auto m = open_manager();
  ASSERT_TRUE(m);
  cpu_set_t set;
  ASSERT_EQ(::sched_getaffinity(0, sizeof set, &set), 0);
  const std::string shares = std::to_string(1024 * CPU_COUNT(&set));
  const fs::path instance = env_dir("cpu", "");
  EXPECT_EQ(read_file(instance / "cpu.shares"), shares);
  EXPECT_EQ(read_file(instance.parent_path() / "cpu.shares"), shares) << "the parent " << parent;
}

TEST_F(CgroupV1Real, RaisingAndLoweringMemoryKeepsSwapLimitInStep) {
  auto m = open_manager();
  ASSERT_TRUE(m);
  auto env = create(*m, "env");
  ASSERT_TRUE(env);
  fs::path mem = env_dir("memory", "env");
  bool memsw = fs::exists(mem / "memory.memsw.limit_in_bytes");
  for (uint64_t mb : {128, 512, 64, 1024, 32}) {
    auto r = env->apply(CgroupLimits{.memory_mb = mb, .pids_max = 100, .cpu_quota = true});
    ASSERT_TRUE(r) << mb << " MB: " << r.error().to_string();
    std::string bytes = std::to_string(mb * 1024 * 1024);
    EXPECT_EQ(read_file(mem / "memory.limit_in_bytes"), bytes);
    if (memsw) {
      EXPECT_EQ(read_file(mem / "memory.memsw.limit_in_bytes"), bytes);
    }
    EXPECT_EQ(read_file(env_dir("cpu", "env") / "cpu.cfs_quota_us"),
              std::to_string(cpu_quota_for_memory(mb).quota_us));
  }
  EXPECT_EQ(read_file(env_dir("cpu", "env") / "cpu.cfs_period_us"), "100000");
}

TEST_F(CgroupV1Real, AttachedChildIsInEveryHierarchyFreezesThawsAndDiesOnKillAll) {
  ASSERT_TRUE(host.unified) << "this machine has a cgroup2 mount";
  auto m = open_manager();
  ASSERT_TRUE(m);
  auto env = create(*m, "env");
  ASSERT_TRUE(env);
  SharedCounter counter;
  Child child([&] {
    for (;;) counter.value->fetch_add(1);
  });
  ASSERT_TRUE(env->attach(child.pid()));
  child.go();
  for (const char* c : {"memory", "cpu", "pids", "freezer", "unified"})
    EXPECT_TRUE(lists_pid(env_dir(c, "env"), child.pid())) << c;
  EXPECT_TRUE(env->populated());
  EXPECT_TRUE(counter.advances());

  ASSERT_TRUE(env->freeze());
  EXPECT_NE(read_file(env_dir("unified", "env") / "cgroup.events").find("frozen 1"),
            std::string::npos);
  EXPECT_FALSE(counter.advances());
  ASSERT_TRUE(env->thaw());
  EXPECT_TRUE(counter.advances());

  ASSERT_TRUE(env->kill_all());
  EXPECT_TRUE(killed_by_sigkill(child.wait()));
  EXPECT_FALSE(env->populated());
  ASSERT_TRUE(env->destroy());
  for (const char* c : {"memory", "cpu", "pids", "freezer", "unified"})
    EXPECT_FALSE(fs::exists(env_dir(c, "env"))) << c;
}

TEST_F(CgroupV1Real, DestroyingFrozenEnvironmentKillsItsProcesses) {
  auto m = open_manager();
  ASSERT_TRUE(m);
  auto env = create(*m, "env");
  ASSERT_TRUE(env);
  Child child([] {
    for (;;) ::pause();
  });
  ASSERT_TRUE(env->attach(child.pid()));
  child.go();
  ASSERT_TRUE(env->freeze());
  auto r = env->destroy();
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_TRUE(killed_by_sigkill(child.wait()));
  EXPECT_FALSE(fs::exists(env_dir("memory", "env")));
}

TEST_F(CgroupV1Real, WithoutCgroup2FreezerStopsAndKillAllThawsSoTheKilledDie) {
  host.unified.reset();
  auto m = open_manager();
  ASSERT_TRUE(m);
  auto env = create(*m, "env");
  ASSERT_TRUE(env);
  EXPECT_EQ(env->unified_dir(), fs::path{});
  SharedCounter counter;
  Child child([&] {
    for (;;) counter.value->fetch_add(1);
  });
  ASSERT_TRUE(env->attach(child.pid()));
  child.go();
  EXPECT_TRUE(env->populated());
  ASSERT_TRUE(env->freeze());
  EXPECT_EQ(read_file(env_dir("freezer", "env") / "freezer.state"), "FROZEN");
  EXPECT_FALSE(counter.advances());
  ASSERT_TRUE(env->thaw());
  EXPECT_TRUE(counter.advances());
  ASSERT_TRUE(env->freeze());
  ASSERT_TRUE(env->kill_all());
  EXPECT_TRUE(killed_by_sigkill(child.wait()));
  EXPECT_EQ(read_file(env_dir("freezer", "env") / "freezer.state"), "THAWED");
  ASSERT_TRUE(env->destroy());
  EXPECT_FALSE(fs::exists(env_dir("freezer", "env")));
}

TEST_F(CgroupV1Real, MemoryHogIsOomKilledAndCounted) {
  auto m = open_manager();
  ASSERT_TRUE(m);
  auto env = create(*m, "hog");
  ASSERT_TRUE(env);
  ASSERT_TRUE(env->apply(CgroupLimits{.memory_mb = 32, .pids_max = 16, .cpu_quota = false}));
  Child child([] {
    const size_t size = 256u << 20;
    auto* p = static_cast<char*>(
        ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (p == MAP_FAILED) ::_exit(4);
    for (size_t i = 0; i < size; i += 4096) p[i] = 1;
    ::_exit(5);  // survived: the limit did not hold
  });
  ASSERT_TRUE(env->attach(child.pid()));
  EXPECT_EQ(env->oom_kill_count(), 0u);
  child.go();
  int status = child.wait(10s);
  EXPECT_TRUE(killed_by_sigkill(status)) << "status " << status;
  EXPECT_EQ(env->oom_kill_count(), 1u);
  EXPECT_GT(env->memory_peak_bytes(), 16u << 20);
  EXPECT_LE(env->memory_peak_bytes(), 32u << 20);
}

// Leftover subtrees under the same <parent>, as dead or live instances leave them.
class CgroupV1RealLeftovers : public CgroupV1Real {
 protected:
  void make_subtree(const std::string& id) {
    for (const auto& dir : parent_dirs()) fs::create_directories(dir / id / "env");
  }
  bool subtree_exists(const std::string& id) {
    for (const auto& dir : parent_dirs())
      if (fs::exists(dir / id)) return true;
    return false;
  }
  void remove_subtree(const std::string& id) {
    for (const auto& dir : parent_dirs()) {
      ::rmdir((dir / id / "env").c_str());
      ::rmdir((dir / id).c_str());
    }
  }
  // Records `id` as owned by an instance with its own state dir; returns that dir's lock path.
  fs::path record_owner(const std::string& id) {
    fs::path owner_state = state.path() / ("state-" + id);
    fs::create_directories(owner_state);
    std::ofstream created_lock(owner_state / "lock");  // an empty file
    fs::create_directories(options.owners_dir);
    std::ofstream(options.owners_dir / id) << owner_state.string() << "\n";
    return owner_state / "lock";
  }
};

TEST_F(CgroupV1RealLeftovers, DeadOwnersSubtreeIsRemovedWithItsProcesses) {
  make_subtree("dead");
  record_owner("dead");
  Child straggler([] {
    for (;;) ::pause();
  });
  for (const auto& dir : parent_dirs())
    std::ofstream(dir / "dead" / "env" / "cgroup.procs") << straggler.pid();
  auto m = open_manager();
  ASSERT_TRUE(m);
  EXPECT_FALSE(subtree_exists("dead"));
  EXPECT_FALSE(fs::exists(options.owners_dir / "dead"));
  EXPECT_TRUE(killed_by_sigkill(straggler.wait()));
}

TEST_F(CgroupV1RealLeftovers, LiveOwnersSubtreeIsLeftAlone) {
  make_subtree("alive");
  fs::path lock = record_owner("alive");
  UniqueFd held(::open(lock.c_str(), O_RDWR | O_CLOEXEC));
  ASSERT_TRUE(held);
  ASSERT_EQ(::flock(held.get(), LOCK_EX | LOCK_NB), 0);
  {
    auto m = open_manager();
    ASSERT_TRUE(m);
    EXPECT_TRUE(subtree_exists("alive"));
    EXPECT_TRUE(fs::exists(options.owners_dir / "alive"));
  }
  remove_subtree("alive");
}

TEST_F(CgroupV1RealLeftovers, SubtreeWithoutOwnerRecordIsLeftAlone) {
  make_subtree("stranger");
  {
    auto m = open_manager();
    ASSERT_TRUE(m);
    EXPECT_TRUE(subtree_exists("stranger"));
  }
  remove_subtree("stranger");
}

TEST_F(CgroupV1RealLeftovers, OwnSubtreeFromACrashIsReplaced) {
  make_subtree("inst");
  auto m = open_manager();
  ASSERT_TRUE(m);
  for (const auto& dir : parent_dirs()) {
    EXPECT_TRUE(fs::exists(dir / "inst")) << dir;
    EXPECT_FALSE(fs::exists(dir / "inst" / "env")) << dir;
  }
}

TEST_F(CgroupV1Real, ManagerCloseRemovesInstanceEvenWithEnvironmentStillRunning) {
  auto m = open_manager();
  ASSERT_TRUE(m);
  auto env = create(*m, "env");
  ASSERT_TRUE(env);
  Child child([] {
    for (;;) ::pause();
  });
  ASSERT_TRUE(env->attach(child.pid()));
  child.go();
  m.reset();
  EXPECT_TRUE(killed_by_sigkill(child.wait()));
  for (const auto& dir : parent_dirs()) EXPECT_FALSE(fs::exists(dir / "inst")) << dir;
  EXPECT_TRUE(env->destroy()) << "a destroy after the manager is gone finds nothing left to do";
}

}  // namespace
}  // namespace sandbox
