// Real environments running the static probe: isolation, limits, failure reporting, cleanup.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include "common/ids.hpp"
#include "sandbox/sandbox_host.hpp"
#include "tests/integration/support.hpp"

namespace {

using sandbox::ExitStatus;

struct ProbeRun {
  ExitStatus exit;
  std::map<std::string, std::string> values;
  std::string out;
  long long value(const std::string& key) const {
    auto it = values.find(key);
    return it == values.end() ? -99999 : std::stoll(it->second);
  }
};

std::string ns_of_self(const char* ns) {
  return std::filesystem::read_symlink(std::string("/proc/self/ns/") + ns).string();
}

class SandboxEnvironmentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state_ = std::make_unique<testsupport::TempDir>("rt-sbx-state");
    code_ = std::make_unique<testsupport::TempDir>("rt-sbx-code");
    ::chmod(code_->path().c_str(), 0755);
    std::filesystem::copy_file(testsupport::bin_path("rt-probe"), code_->path() / "rt-probe");
    parent_ = "rt-test-" + common::random_hex(8);
    sandbox::SandboxOptions o;
    o.state_dir = state_->path();
    o.cgroup_parent = parent_;
    o.init_path = testsupport::bin_path("runtimed-init");
    auto host = sandbox::SandboxHost::open(o);
    ASSERT_TRUE(host.has_value()) << host.error().to_string();
    host_ = std::move(*host);
  }

  void TearDown() override {
    host_.reset();
    // Nothing of ours is left: no cgroup, no mount of the state dir, no loop device on our images.
    for (const char* c : {"memory", "cpu", "pids", "freezer", "unified"}) {
      // Other tests remove their cgroups concurrently: iterate without throwing.
      std::error_code ec;
      for (auto it = std::filesystem::recursive_directory_iterator(
               "/sys/fs/cgroup/" + std::string(c), ec);
           !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        EXPECT_EQ(it->path().string().find(parent_), std::string::npos) << it->path();
      }
    }
    std::ifstream mounts("/proc/self/mountinfo");
    std::string line;
    while (std::getline(mounts, line)) {
      EXPECT_EQ(line.find(state_->path().string()), std::string::npos) << line;
    }
    // The kernel detaches an autoclear loop device after the lazily unmounted /tmp drops its
    // last reference, a moment after destroy() returns: wait for it, bounded.
    std::vector<std::string> attached;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    do {
      attached.clear();
      for (const auto& dev : std::filesystem::directory_iterator("/sys/block")) {
        std::ifstream backing(dev.path() / "loop" / "backing_file");
        std::string file;
        if (backing && std::getline(backing, file) &&
            file.find(state_->path().string()) != std::string::npos) {
          attached.push_back(dev.path());
        }
      }
      if (!attached.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    } while (!attached.empty() && std::chrono::steady_clock::now() < give_up);
    EXPECT_EQ(attached, std::vector<std::string>{});
  }

  ProbeRun run(std::vector<std::string> args, sandbox::CgroupLimits limits = {},
               uint64_t tmp_mb = 512) {
    ProbeRun result;
    auto env = host_->prepare(sandbox::PrepareOptions{tmp_mb});
    EXPECT_TRUE(env.has_value()) << env.error().to_string();
    if (!env) return result;
    int p[2];
    EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
    sandbox::LaunchSpec spec;
    spec.code_dir = code_->path();
    spec.argv = {"/var/task/rt-probe"};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.env = {"PATH=/usr/bin:/bin"};
    spec.limits = limits;
    spec.stdout_fd = p[1];
    auto launched = (*env)->launch(spec);
    ::close(p[1]);
    EXPECT_TRUE(launched.has_value()) << launched.error().to_string();
    char buf[4096];
    ssize_t n;
    while ((n = ::read(p[0], buf, sizeof buf)) > 0) result.out.append(buf, static_cast<size_t>(n));
    ::close(p[0]);
    result.exit = (*env)->wait_exit();
    std::istringstream lines(result.out);
    std::string line;
    while (std::getline(lines, line)) {
      auto eq = line.find('=');
      if (eq != std::string::npos) result.values[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return result;
  }

  std::unique_ptr<testsupport::TempDir> state_;
  std::unique_ptr<testsupport::TempDir> code_;
  std::string parent_;
  std::unique_ptr<sandbox::SandboxHost> host_;
};

TEST_F(SandboxEnvironmentTest, RunsInItsOwnNamespacesAsAnUnprivilegedUser) {
  auto r = run({"info"});
  ASSERT_EQ(r.exit.kind, ExitStatus::Kind::Exited) << r.exit.describe() << r.out;
  EXPECT_EQ(r.exit.code, 0);
  for (const char* ns : {"pid", "mnt", "net", "ipc", "uts"}) {
    EXPECT_NE(r.values["ns_" + std::string(ns)], ns_of_self(ns)) << ns;
    EXPECT_FALSE(r.values["ns_" + std::string(ns)].empty()) << ns;
  }
  // The environment's own uid (sandbox_isolation_test.cpp), never root.
  EXPECT_GE(r.value("uid"), static_cast<long long>(host_->options().uids.first));
  EXPECT_EQ(r.value("gid"), r.value("uid"));
  EXPECT_EQ(r.values["cap_eff"], "0000000000000000");
  EXPECT_EQ(r.values["cap_bnd"], "0000000000000000");
  EXPECT_EQ(r.values["seccomp"], "2");
  EXPECT_EQ(r.values["no_new_privs"], "1");
  EXPECT_EQ(r.value("sid_is_self"), 1);
  // The init and the probe only.
  EXPECT_EQ(r.value("visible_processes"), 2);
  EXPECT_EQ(r.values["interfaces"], "lo");
  EXPECT_EQ(r.value("host_root_marker_visible"), 0);
  EXPECT_EQ(r.value("nofile_limit"), 1024);
}

TEST_F(SandboxEnvironmentTest, SystemAndCodeDirectoriesAreReadOnlyAndTmpIsWritable) {
  auto r = run({"info"});
  EXPECT_EQ(r.value("write_errno:/var/task/probe-write"), EROFS);
  EXPECT_EQ(r.value("write_errno:/usr/probe-write"), EROFS);
  EXPECT_EQ(r.value("write_errno:/etc/probe-write"), EROFS);
  EXPECT_EQ(r.value("write_errno:/probe-write"), EROFS);
  EXPECT_EQ(r.value("write_errno:/opt/probe-write"), EROFS);
  EXPECT_EQ(r.value("write_errno:/tmp/probe-write"), 0);
}

TEST_F(SandboxEnvironmentTest, TmpIsCappedAtItsSizeWithEnospc) {
  auto r = run({"write-tmp", "100"}, {}, 64);
  EXPECT_EQ(r.value("write_errno"), ENOSPC) << r.out;
  EXPECT_GE(r.value("written_mb"), 56);
  EXPECT_LE(r.value("written_mb"), 64);
}

TEST_F(SandboxEnvironmentTest, TmpIsNotChargedToMemorySoA128MbFunctionWrites300Mb) {
  sandbox::CgroupLimits limits;
  limits.memory_mb = 128;
  auto r = run({"write-tmp", "300"}, limits, 512);
  EXPECT_EQ(r.exit.kind, ExitStatus::Kind::Exited) << r.exit.describe();
  EXPECT_EQ(r.value("write_errno"), 0) << r.out;
  EXPECT_EQ(r.value("written_mb"), 300);
}

TEST_F(SandboxEnvironmentTest, MemoryHogIsKilledAndReportedAsOutOfMemory) {
  sandbox::CgroupLimits limits;
  limits.memory_mb = 64;
  auto r = run({"memhog", "200"}, limits);
  EXPECT_EQ(r.exit.kind, ExitStatus::Kind::OutOfMemory) << r.exit.describe();
  EXPECT_EQ(r.values.count("allocated_mb"), 0u);
}

TEST_F(SandboxEnvironmentTest, ForkBombStopsAtThePidsLimit) {
  sandbox::CgroupLimits limits;
  limits.pids_max = 64;
  auto r = run({"forkbomb"}, limits);
  EXPECT_EQ(r.exit.kind, ExitStatus::Kind::Exited) << r.exit.describe();
  EXPECT_EQ(r.value("fork_errno"), EAGAIN) << r.out;
  // 64 tasks in the cgroup: the init, the probe and the children.
  EXPECT_GE(r.value("forked"), 55);
  EXPECT_LE(r.value("forked"), 62);
  // The host still forks.
  const pid_t p = ::fork();
  if (p == 0) ::_exit(0);
  ASSERT_GT(p, 0);
  int status = 0;
  ::waitpid(p, &status, 0);
}

TEST_F(SandboxEnvironmentTest, SeccompRefusesWhatWouldSucceedWithoutIt) {
  auto r = run({"seccomp"});
  EXPECT_EQ(r.values["seccomp"], "2");
  EXPECT_EQ(r.value("unshare_user_errno"), EPERM);
  EXPECT_EQ(r.value("ptrace_traceme_errno"), EPERM);
  EXPECT_EQ(r.value("keyctl_errno"), EPERM);
  EXPECT_EQ(r.value("perf_event_open_errno"), EPERM);
  EXPECT_EQ(r.value("clone3_errno"), ENOSYS);
  EXPECT_EQ(r.value("fork_ok"), 1);
}

TEST_F(SandboxEnvironmentTest, CannotReachAHostPort) {
  // A listener on the host's loopback that the sandbox must not reach.
  const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(s, 4), 0);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  auto r = run({"connect", std::to_string(ntohs(a.sin_port))});
  EXPECT_EQ(r.value("connect_errno"), ECONNREFUSED) << r.out;
  EXPECT_EQ(r.value("connect_external_errno"), ENETUNREACH) << r.out;
  ::close(s);
}

TEST_F(SandboxEnvironmentTest, OrphansAreReapedByTheInit) {
  auto r = run({"orphans", "20"});
  EXPECT_EQ(r.value("zombies"), 0) << r.out;
}

TEST_F(SandboxEnvironmentTest, ExitCodesAndSignalsAreReported) {
  auto r = run({"exit", "7"});
  EXPECT_EQ(r.exit.kind, ExitStatus::Kind::Exited);
  EXPECT_EQ(r.exit.code, 7);
  auto k = run({"kill-self", std::to_string(SIGSEGV)});
  EXPECT_EQ(k.exit.kind, ExitStatus::Kind::Signaled);
  EXPECT_EQ(k.exit.signal, SIGSEGV);
}

TEST_F(SandboxEnvironmentTest, MissingEntrypointIsASetupFailureWithStepAndErrno) {
  auto env = host_->prepare({});
  ASSERT_TRUE(env.has_value());
  sandbox::LaunchSpec spec;
  spec.code_dir = code_->path();
  spec.argv = {"/var/task/does-not-exist"};
  auto launched = (*env)->launch(spec);
  ASSERT_FALSE(launched.has_value());
  EXPECT_EQ(launched.error().step, "execve");
  EXPECT_EQ(launched.error().err, ENOENT);
}

TEST_F(SandboxEnvironmentTest, CpuIsSharedInProportionToMemory) {
  sandbox::CgroupLimits small, large;
  small.memory_mb = 128;
  large.memory_mb = 1024;
  ProbeRun a, b;
  std::thread ta([&] { a = run({"spin", "3"}, small); });
  std::thread tb([&] { b = run({"spin", "3"}, large); });
  ta.join();
  tb.join();
  ASSERT_GT(a.value("loops"), 0);
  const double ratio =
      static_cast<double>(b.value("loops")) / static_cast<double>(a.value("loops"));
  // cpu.shares 74 vs 578: about 1:8.
  EXPECT_GT(ratio, 5.0) << a.out << b.out;
  EXPECT_LT(ratio, 12.0) << a.out << b.out;
}

TEST_F(SandboxEnvironmentTest, FreezeStopsTheRuntimeAndThawResumesIt) {
  auto env = host_->prepare({});
  ASSERT_TRUE(env.has_value());
  sandbox::LaunchSpec spec;
  spec.code_dir = code_->path();
  spec.argv = {"/var/task/rt-probe", "sleep", "30"};
  ASSERT_TRUE((*env)->launch(spec).has_value());
  ASSERT_TRUE((*env)->freeze().has_value());
  ASSERT_TRUE((*env)->thaw().has_value());
  (*env)->terminate();
  const auto exit = (*env)->wait_exit();
  EXPECT_EQ(exit.kind, ExitStatus::Kind::Signaled);
  EXPECT_EQ(exit.signal, SIGTERM);
}

TEST_F(SandboxEnvironmentTest, DestroyingAFrozenEnvironmentLeavesNothing) {
  auto env = host_->prepare({});
  ASSERT_TRUE(env.has_value());
  sandbox::LaunchSpec spec;
  spec.code_dir = code_->path();
  spec.argv = {"/var/task/rt-probe", "sleep", "30"};
  ASSERT_TRUE((*env)->launch(spec).has_value());
  ASSERT_TRUE((*env)->freeze().has_value());
  env->reset();  // TearDown checks that nothing is left
}

}  // namespace

// A stem: the runtime starts before its function exists, unprivileged and filtered like any
// runtime, with no code bound; launch binds the code, takes the init's root away, and hands the
// stem its function's environment on fd 3.
TEST_F(SandboxEnvironmentTest, AStemWaitsUnprivilegedThenBecomesItsFunction) {
  testsupport::TempDir runtime("rt-sbx-stem");
  ::chmod(runtime.path().c_str(), 0755);
  std::ofstream(runtime.path() / "stem.sh") <<
      R"SH(#!/bin/sh
echo "uid_before=$(id -u)"
echo "task_entries_before=$(ls -A /var/task | wc -l)"
echo "init_uid_before=$(awk '/^Uid:/ {print $2}' /proc/1/status)"
echo "greeting_before=${GREETING:-none}"
tr '\000' '\n' <&3 > /tmp/function.env
echo "greeting_after=$(grep '^GREETING=' /tmp/function.env | cut -d= -f2)"
echo "init_uid_after=$(awk '/^Uid:/ {print $2}' /proc/1/status)"
echo "hostname_after=$(cat /proc/sys/kernel/hostname)"
exec env -i $(cat /tmp/function.env) /var/task/rt-probe info
)SH";
  ::chmod((runtime.path() / "stem.sh").c_str(), 0755);
  auto env = host_->prepare(sandbox::PrepareOptions{});
  ASSERT_TRUE(env.has_value()) << env.error().to_string();
  sandbox::StemSpec stem;
  stem.runtime_dir = runtime.path();
  stem.argv = {"/bin/sh", "/var/runtime/stem.sh"};
  stem.env = {"PATH=/usr/bin:/bin"};
  auto started = (*env)->start_stem(stem);
  ASSERT_TRUE(started.has_value()) << started.error().to_string();
  EXPECT_TRUE((*env)->has_stem());
  EXPECT_TRUE((*env)->stem_alive());
  sandbox::UniqueFd output = (*env)->take_stem_output();
  ASSERT_TRUE(output);
  ::fcntl(output.get(), F_SETFL, 0);                            // the test reads it blocking
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the stem waits on fd 3 by now

  sandbox::LaunchSpec spec;
  spec.code_dir = code_->path();
  spec.env = {"PATH=/usr/bin:/bin", "GREETING=hello"};
  spec.hostname = "stemmed";
  auto launched = (*env)->launch(spec);
  ASSERT_TRUE(launched.has_value()) << launched.error().to_string();
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(output.get(), buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  const ExitStatus exit = (*env)->wait_exit();
  EXPECT_EQ(exit.kind, ExitStatus::Kind::Exited) << exit.describe() << out;
  std::map<std::string, std::string> v;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);)
    if (auto eq = line.find('='); eq != std::string::npos)
      v[line.substr(0, eq)] = line.substr(eq + 1);
  const std::string uid = std::to_string((*env)->uid());
  // Before its function: the environment's uid, no code, the init still root to bind it later.
  EXPECT_EQ(v["uid_before"], uid) << out;
  EXPECT_EQ(v["task_entries_before"], "0") << out;
  EXPECT_EQ(v["init_uid_before"], "0") << out;
  EXPECT_EQ(v["greeting_before"], "none") << out;
  // After: the function's environment, hostname and code; the init no longer root.
  EXPECT_EQ(v["greeting_after"], "hello") << out;
  EXPECT_EQ(v["init_uid_after"], uid) << out;
  EXPECT_EQ(v["hostname_after"], "stemmed") << out;
  EXPECT_EQ(v["uid"], uid) << out;
  EXPECT_EQ(v["cap_eff"], "0000000000000000");
  EXPECT_EQ(v["seccomp"], "2");
  EXPECT_EQ(v["no_new_privs"], "1");
  EXPECT_EQ(v["write_errno:/var/task/probe-write"], std::to_string(EROFS));
}

TEST_F(SandboxEnvironmentTest, AStemThatEndedIsNotAlive) {
  testsupport::TempDir runtime("rt-sbx-stem");
  ::chmod(runtime.path().c_str(), 0755);
  std::ofstream(runtime.path() / "stem.sh") << "#!/bin/sh\nexit 3\n";
  ::chmod((runtime.path() / "stem.sh").c_str(), 0755);
  auto env = host_->prepare(sandbox::PrepareOptions{});
  ASSERT_TRUE(env.has_value()) << env.error().to_string();
  sandbox::StemSpec stem;
  stem.runtime_dir = runtime.path();
  stem.argv = {"/bin/sh", "/var/runtime/stem.sh"};
  ASSERT_TRUE((*env)->start_stem(stem).has_value());
  for (int i = 0; i < 200 && (*env)->stem_alive(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_FALSE((*env)->stem_alive());
  const ExitStatus exit = (*env)->wait_exit();
  EXPECT_EQ(exit.kind, ExitStatus::Kind::Exited);
  EXPECT_EQ(exit.code, 3);
}
