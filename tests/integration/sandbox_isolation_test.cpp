// Tenant isolation between environments of one host: a uid per environment (so per-user kernel
// limits are not shared), an init without privilege once the runtime runs, Lambda's rlimits, and
// owner-only state directories.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "common/ids.hpp"
#include "sandbox/sandbox_host.hpp"
#include "tests/integration/support.hpp"

namespace {

namespace fs = std::filesystem;
using sandbox::Environment;
using sandbox::ExitStatus;

// A launched probe whose stdout we read line by line.
struct Running {
  std::unique_ptr<Environment> env;
  int out = -1;
  std::string text;
  std::map<std::string, std::string> values;

  ~Running() {
    if (out >= 0) ::close(out);
  }
  // Reads until `key` has been printed or the probe closed its output.
  void read_until(const std::string& key) {
    char buf[4096];
    while (!values.contains(key)) {
      const ssize_t n = ::read(out, buf, sizeof buf);
      if (n <= 0) break;
      text.append(buf, static_cast<size_t>(n));
      std::istringstream lines(text);
      std::string line;
      while (std::getline(lines, line)) {
        auto eq = line.find('=');
        if (eq != std::string::npos) values[line.substr(0, eq)] = line.substr(eq + 1);
      }
    }
  }
  long long value(const std::string& key) const {
    auto it = values.find(key);
    return it == values.end() ? -99999 : std::stoll(it->second);
  }
};

class SandboxIsolationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state_ = std::make_unique<testsupport::TempDir>("rt-iso-state");
    uid_locks_ = std::make_unique<testsupport::TempDir>("rt-iso-uids");
    code_ = std::make_unique<testsupport::TempDir>("rt-iso-code");
    ::chmod(code_->path().c_str(), 0755);
    fs::copy_file(testsupport::bin_path("rt-probe"), code_->path() / "rt-probe");
    parent_ = "rt-iso-" + common::random_hex(8);
  }

  void TearDown() override { hosts_.clear(); }

  // A host of its own; `uid_count` 0 keeps the default range (and host-wide lock dir).
  sandbox::SandboxHost& host(uint32_t uid_count = 0, const std::string& name = "a") {
    sandbox::SandboxOptions o;
    o.state_dir = state_->path() / name;
    o.cgroup_parent = parent_;
    o.init_path = testsupport::bin_path("runtimed-init");
    if (uid_count != 0) {
      // A range no other test uses, with its own lock dir.
      o.uids = sandbox::UidRange{2100000000, uid_count};
      o.uid_lock_dir = uid_locks_->path();
    }
    auto h = sandbox::SandboxHost::open(o);
    EXPECT_TRUE(h.has_value()) << h.error().to_string();
    if (!h) throw std::runtime_error(h.error().to_string());
    hosts_.push_back(std::move(*h));
    return *hosts_.back();
  }

  std::unique_ptr<Running> start(sandbox::SandboxHost& h, std::vector<std::string> args) {
    auto r = std::make_unique<Running>();
    auto env = h.prepare(sandbox::PrepareOptions{64});
    EXPECT_TRUE(env.has_value()) << env.error().to_string();
    if (!env) return r;
    r->env = std::move(*env);
    int p[2];
    EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
    sandbox::LaunchSpec spec;
    spec.code_dir = code_->path();
    spec.argv = {"/var/task/rt-probe"};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.stdout_fd = p[1];
    auto launched = r->env->launch(spec);
    ::close(p[1]);
    r->out = p[0];
    EXPECT_TRUE(launched.has_value()) << launched.error().to_string();
    return r;
  }

  // Runs the probe to its end.
  std::unique_ptr<Running> run(sandbox::SandboxHost& h, std::vector<std::string> args) {
    auto r = start(h, std::move(args));
    if (!r->env) return r;
    r->read_until("\x01never");
    const ExitStatus exit = r->env->wait_exit();
    EXPECT_EQ(exit.kind, ExitStatus::Kind::Exited) << exit.describe() << r->text;
    return r;
  }

  std::unique_ptr<testsupport::TempDir> state_, uid_locks_, code_;
  std::string parent_;
  std::vector<std::unique_ptr<sandbox::SandboxHost>> hosts_;
};

TEST_F(SandboxIsolationTest, EachEnvironmentRunsAsItsOwnUidFromTheRange) {
  auto& h = host();
  auto a = start(h, {"sleep", "5"});
  auto b = run(h, {"info"});
  auto c = run(h, {"info"});
  ASSERT_TRUE(a->env && b->env && c->env);
  const sandbox::UidRange range = h.options().uids;
  for (const auto* r : {b.get(), c.get()}) {
    EXPECT_GE(r->value("uid"), range.first) << r->text;
    EXPECT_LT(r->value("uid"), static_cast<long long>(range.first) + range.count) << r->text;
    EXPECT_EQ(r->value("gid"), r->value("uid"));
    EXPECT_EQ(r->value("uid"), r->env->uid());
  }
  EXPECT_NE(a->env->uid(), b->env->uid());
  EXPECT_NE(b->env->uid(), c->env->uid());  // both alive at once: never shared
  EXPECT_NE(a->env->uid(), c->env->uid());
}

TEST_F(SandboxIsolationTest, OneEnvironmentHoldingEveryInotifyInstanceLeavesAnotherItsOwn) {
  auto& h = host();
  auto hog = start(h, {"inotify-hold", "20"});
  ASSERT_TRUE(hog->env);
  hog->read_until("hold_errno");
  // It got the whole per-user allowance (fs.inotify.max_user_instances, 128 by default).
  ASSERT_GT(hog->value("max_user_instances"), 0) << hog->text;
  EXPECT_EQ(hog->value("held"), hog->value("max_user_instances")) << hog->text;
  auto other = run(h, {"inotify-try"});
  EXPECT_EQ(other->value("inotify_errno"), 0) << other->text;  // EMFILE when uids are shared
  hog->env->kill();
  hog->env->wait_exit();
}

TEST_F(SandboxIsolationTest, OneEnvironmentHoldingThousandsOfPipesDoesNotShrinkAnothersBuffers) {
  auto& h = host();
  auto hog = start(h, {"pipe-hold", "20"});
  ASSERT_TRUE(hog->env);
  hog->read_until("own_new_pipe_size");
  ASSERT_EQ(hog->value("pipes_held"), 2000) << hog->text;
  // The hog is past fs.pipe-user-pages-soft itself: its own new pipes get the minimum (two pages
  // on 6.x kernels) instead of sixteen.
  EXPECT_LT(hog->value("own_new_pipe_size"), 65536) << hog->text;
  auto other = run(h, {"pipe-size"});
  EXPECT_EQ(other->value("pipe_size"), 65536) << other->text;  // 8192 when uids are shared
  hog->env->kill();
  hog->env->wait_exit();
}

TEST_F(SandboxIsolationTest, AUidIsGivenBackWhenItsEnvironmentIsDestroyed) {
  auto& h = host(1);
  auto first = h.prepare(sandbox::PrepareOptions{16});
  ASSERT_TRUE(first.has_value()) << first.error().to_string();
  const uid_t uid = (*first)->uid();
  EXPECT_EQ(uid, 2100000000u);
  // The range holds one uid: a second environment must wait for it.
  auto second = h.prepare(sandbox::PrepareOptions{16});
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().err, EAGAIN) << second.error().to_string();
  first->reset();
  auto third = h.prepare(sandbox::PrepareOptions{16});
  ASSERT_TRUE(third.has_value()) << third.error().to_string();
  EXPECT_EQ((*third)->uid(), uid);
}

// Pids of processes running as `uid` (real uid, from /proc/<pid>/status).
std::vector<pid_t> processes_of(uid_t uid) {
  std::vector<pid_t> pids;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream status(e.path() / "status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.starts_with("Uid:")) {
        if (std::stoul(line.substr(4)) == uid) pids.push_back(std::stoi(name));
        break;
      }
    }
  }
  return pids;
}

TEST_F(SandboxIsolationTest, AfterADaemonCrashItsEnvironmentsAreGoneAndTheirUidsFree) {
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t daemon = ::fork();
  if (daemon == 0) {
    // A daemon with a running environment, then SIGKILL: no destructor runs.
    sandbox::SandboxOptions o;
    o.state_dir = state_->path() / "crash";
    o.cgroup_parent = parent_;
    o.init_path = testsupport::bin_path("runtimed-init");
    o.uids = sandbox::UidRange{2100000000, 1};
    o.uid_lock_dir = uid_locks_->path();
    auto h = sandbox::SandboxHost::open(o);
    if (!h) ::_exit(1);
    auto env = (*h)->prepare(sandbox::PrepareOptions{16});
    if (!env) ::_exit(2);
    sandbox::LaunchSpec spec;
    spec.code_dir = code_->path();
    spec.argv = {"/var/task/rt-probe", "sleep", "60"};
    if (!(*env)->launch(spec)) ::_exit(3);
    const uid_t uid = (*env)->uid();
    (void)!::write(ready[1], &uid, sizeof uid);
    ::pause();
    ::_exit(0);
  }
  ::close(ready[1]);
  uid_t uid = 0;
  ASSERT_EQ(::read(ready[0], &uid, sizeof uid), static_cast<ssize_t>(sizeof uid));
  ::close(ready[0]);
  ASSERT_EQ(uid, 2100000000u);
  EXPECT_FALSE(processes_of(uid).empty()) << "the environment runs as its uid";
  ::kill(daemon, SIGKILL);
  ::waitpid(daemon, nullptr, 0);
  // The init notices its daemon is gone (parent-death signal, control socket EOF) and, as PID 1,
  // takes the runtime with it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!processes_of(uid).empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_TRUE(processes_of(uid).empty());
  // A new daemon on the same state dir cleans the leftovers up and gets the uid again.
  auto& h = host(1, "crash");
  auto env = h.prepare(sandbox::PrepareOptions{16});
  ASSERT_TRUE(env.has_value()) << env.error().to_string();
  EXPECT_EQ((*env)->uid(), uid);
}

TEST_F(SandboxIsolationTest, TwoHostsSharingALockDirNeverHandOutTheSameUid) {
  auto& a = host(2, "a");
  auto& b = host(2, "b");
  auto ea = a.prepare(sandbox::PrepareOptions{16});
  auto eb = b.prepare(sandbox::PrepareOptions{16});
  ASSERT_TRUE(ea.has_value() && eb.has_value());
  EXPECT_NE((*ea)->uid(), (*eb)->uid());
}

TEST_F(SandboxIsolationTest, TheInitKeepsNoCapabilityOnceTheRuntimeRuns) {
  auto r = run(host(), {"caps"});
  for (const char* set : {"CapEff", "CapPrm", "CapBnd", "CapAmb", "CapInh"}) {
    EXPECT_EQ(r->values[std::string("self_") + set], "0000000000000000") << set << r->text;
    EXPECT_EQ(r->values[std::string("init_") + set], "0000000000000000") << set << r->text;
  }
  EXPECT_EQ(r->values["init_NoNewPrivs"], "1") << r->text;
  // Same uid as the runtime, yet not dumpable: /proc/1's private files stay closed to it.
  EXPECT_EQ(r->values["init_Uid"], r->values["self_Uid"]) << r->text;
  EXPECT_EQ(r->value("init_environ_errno"), EACCES) << r->text;
  EXPECT_EQ(r->value("init_fd_dir_errno"), EACCES) << r->text;
}

TEST_F(SandboxIsolationTest, RlimitsAreLambdasNotInheritedFromTheDaemon) {
  // Whoever starts the daemon may run with core dumps on and many processes: none of it passes.
  rlimit before{};
  ::getrlimit(RLIMIT_CORE, &before);
  rlimit core{RLIM_INFINITY, RLIM_INFINITY};
  ASSERT_EQ(::setrlimit(RLIMIT_CORE, &core), 0);
  auto r = run(host(), {"rlimits"});
  ::setrlimit(RLIMIT_CORE, &before);
  EXPECT_EQ(r->value("rlimit_nofile_soft"), 1024) << r->text;
  EXPECT_EQ(r->value("rlimit_nofile_hard"), 1024);
  EXPECT_EQ(r->value("rlimit_nproc_soft"), 1024);
  EXPECT_EQ(r->value("rlimit_nproc_hard"), 1024);
  EXPECT_EQ(r->value("rlimit_core_soft"), 0);
  EXPECT_EQ(r->value("rlimit_core_hard"), 0);
  EXPECT_EQ(r->value("rlimit_stack_soft"), 8 << 20);
  EXPECT_EQ(r->value("rlimit_memlock_hard"), 64 << 10);
  EXPECT_EQ(r->value("rlimit_rtprio_hard"), 0);
}

TEST_F(SandboxIsolationTest, StateDirEnvsAndEachEnvironmentDirAreOwnerOnly) {
  // An existing state dir from an older runtimed, world-readable: fixed at start.
  fs::create_directories(state_->path() / "a" / "envs");
  ::chmod((state_->path() / "a").c_str(), 0755);
  ::chmod((state_->path() / "a" / "envs").c_str(), 0755);
  auto& h = host();
  auto env = h.prepare(sandbox::PrepareOptions{16});
  ASSERT_TRUE(env.has_value()) << env.error().to_string();
  auto mode = [](const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
  };
  EXPECT_EQ(mode(state_->path() / "a"), 0700u);
  EXPECT_EQ(mode(state_->path() / "a" / "envs"), 0700u);
  const fs::path env_dir = state_->path() / "a" / "envs" / (*env)->name();
  EXPECT_EQ(mode(env_dir), 0700u);
  EXPECT_TRUE(fs::exists(env_dir / "tmp"));  // the /tmp mount sits below the 0700 directory
}

}  // namespace
