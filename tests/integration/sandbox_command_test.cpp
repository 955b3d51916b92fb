// The real `runtimed sandbox` CLI: exit status, stdio, limits, /var/task, interpreters, cleanup.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/ids.hpp"
#include "tests/integration/support.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct CliRun {
  int status = -1;  // exit code, or 128+signal if runtimed itself was killed
  std::string out, err;
  std::map<std::string, std::string> values;  // rt-probe's key=value lines
  long long value(const std::string& key) const {
    auto it = values.find(key);
    return it == values.end() ? -99999 : std::stoll(it->second);
  }
};

// Runs argv with stdin fed from `input`, collecting stdout and stderr; kills it after `limit`.
CliRun run_process(const std::vector<std::string>& args, const std::string& input,
                   std::chrono::seconds limit = std::chrono::seconds(120)) {
  CliRun r;
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2: " << std::strerror(errno);
    return r;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  if (rc != 0) {
    ADD_FAILURE() << "posix_spawn " << args[0] << ": " << std::strerror(rc);
    for (int fd : {in[1], out[0], err[0]}) ::close(fd);
    return r;
  }
  // Small inputs fit in the pipe buffer; EPIPE (the command never reads) is not our concern.
  ::signal(SIGPIPE, SIG_IGN);
  if (!input.empty()) (void)!::write(in[1], input.data(), input.size());
  ::close(in[1]);
  const auto deadline = Clock::now() + limit;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  int open_fds = 2;
  bool timed_out = false;
  while (open_fds > 0) {
    if (Clock::now() > deadline) {
      timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    if (::poll(fds, 2, 200) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& p : fds)
    if (p.fd >= 0) ::close(p.fd);
  int ws = 0;
  while (::waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
  }
  EXPECT_FALSE(timed_out) << "timed out: " << args.back();
  r.status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    auto eq = line.find('=');
    if (eq != std::string::npos) r.values[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return r;
}

// What a run of `runtimed sandbox` without --state-dir could leave behind: its
// /tmp/runtimed-sandbox-* state dir, mounts and loop devices of it, loop devices on deleted files.
std::set<std::string> sandbox_traces() {
  std::set<std::string> traces;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/tmp", ec)) {
    if (e.path().filename().string().starts_with("runtimed-sandbox-"))
      traces.insert("dir " + e.path().string());
  }
  std::ifstream mounts("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mounts, line)) {
    if (line.find("runtimed-sandbox-") != std::string::npos) traces.insert("mount " + line);
  }
  for (const auto& dev : fs::directory_iterator("/sys/block", ec)) {
    std::ifstream backing(dev.path() / "loop" / "backing_file");
    std::string file;
    if (backing && std::getline(backing, file) &&
        (file.find("runtimed-sandbox-") != std::string::npos ||
         file.find("(deleted)") != std::string::npos))
      traces.insert("loop " + dev.path().filename().string() + " " + file);
  }
  return traces;
}

class SandboxCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(testsupport::bin_path("runtimed")))
        << testsupport::bin_path("runtimed") << " is missing: build the `runtimed` target";
    parent_ = "rt-cli-" + common::random_hex(8);
    code_ = std::make_unique<testsupport::TempDir>("rt-cli-code");
    ::chmod(code_->path().c_str(), 0755);
    fs::copy_file(testsupport::bin_path("rt-probe"), code_->path() / "rt-probe");
    before_ = sandbox_traces();
  }

  void TearDown() override {
    // Our cgroup parent is unique, so any directory naming it is ours.
    for (const char* c : {"memory", "cpu", "pids", "freezer", "unified"}) {
      const fs::path root = fs::path("/sys/fs/cgroup") / c;
      std::error_code ec;
      if (!fs::exists(root, ec)) continue;
      for (auto it = fs::recursive_directory_iterator(root, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (!it->is_directory(ec)) continue;
        EXPECT_EQ(it->path().string().find(parent_), std::string::npos) << it->path();
      }
    }
    // Traces that were not there before are ours unless another run going on at the same time
    // (ctest -j) made them: those vanish when that run ends, ours never do.
    std::vector<std::string> left;
    for (auto until = Clock::now() + std::chrono::seconds(30);;) {
      left.clear();
      for (const auto& t : sandbox_traces())
        if (!before_.contains(t)) left.push_back(t);
      if (left.empty() || Clock::now() > until) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    for (const auto& t : left) ADD_FAILURE() << "left behind: " << t;
  }

  CliRun sandbox(const std::vector<std::string>& options, const std::vector<std::string>& command,
                 const std::string& input = "") {
    std::vector<std::string> args = {testsupport::bin_path("runtimed").string(), "sandbox",
                                     "--cgroup-parent", parent_};
    args.insert(args.end(), options.begin(), options.end());
    args.push_back("--");
    args.insert(args.end(), command.begin(), command.end());
    return run_process(args, input);
  }

  CliRun probe(const std::vector<std::string>& options, const std::vector<std::string>& args) {
    std::vector<std::string> command = {"/var/task/rt-probe"};
    command.insert(command.end(), args.begin(), args.end());
    std::vector<std::string> with_code = {"--code", code_->path().string()};
    with_code.insert(with_code.end(), options.begin(), options.end());
    return sandbox(with_code, command);
  }

  std::string parent_;
  std::unique_ptr<testsupport::TempDir> code_;
  std::set<std::string> before_;
};

TEST_F(SandboxCommandTest, ReturnsTheCommandsExitCode) {
  auto r = probe({}, {"exit", "7"});
  EXPECT_EQ(r.status, 7) << r.err;
  auto zero = probe({}, {"exit", "0"});
  EXPECT_EQ(zero.status, 0) << zero.err;
}

TEST_F(SandboxCommandTest, ACommandKilledByASignalReturns128PlusTheSignal) {
  auto r = probe({}, {"kill-self", "11"});
  EXPECT_EQ(r.status, 128 + SIGSEGV) << r.err;
  auto term = probe({}, {"kill-self", "15"});
  EXPECT_EQ(term.status, 128 + SIGTERM) << term.err;
}

TEST_F(SandboxCommandTest, StdinStdoutAndStderrAreAttached) {
  auto r = sandbox({}, {"/bin/sh", "-c", "read x; echo got:$x; echo err:$x >&2"}, "hi\n");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "got:hi\n");
  EXPECT_NE(r.err.find("err:hi"), std::string::npos) << r.err;
}

TEST_F(SandboxCommandTest, AMemoryHogIsKilledWith137AndReportedAsOutOfMemory) {
  auto r = probe({"--memory-mb", "64"}, {"memhog", "200"});
  EXPECT_EQ(r.status, 137) << r.err;
  EXPECT_NE(r.err.find("out of memory"), std::string::npos) << r.err;
  EXPECT_EQ(r.values.count("allocated_mb"), 0u) << r.out;
}

TEST_F(SandboxCommandTest, TheCodeDirectoryIsVarTaskAndReadOnly) {
  std::ofstream(code_->path() / "hello.txt") << "from the host\n";
  auto r = sandbox({"--code", code_->path().string()}, {"/bin/cat", "/var/task/hello.txt"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "from the host\n");
  // EROFS, not EACCES: the mount is read-only whatever the permissions.
  ::chmod(code_->path().c_str(), 0777);
  auto info = probe({}, {"info"});
  EXPECT_EQ(info.value("write_errno:/var/task/probe-write"), EROFS) << info.out << info.err;
  EXPECT_FALSE(fs::exists(code_->path() / "probe-write"));
}

TEST_F(SandboxCommandTest, AMissingCommandFailsWithAClearMessage) {
  auto r = sandbox({}, {"/var/task/no-such-command", "arg"});
  EXPECT_TRUE(r.status == 125 || r.status == 127) << r.status << " " << r.err;
  EXPECT_NE(r.err.find("no-such-command"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("No such file or directory"), std::string::npos) << r.err;
}

TEST_F(SandboxCommandTest, TmpMbCapsTmpWithEnospc) {
  auto r = probe({"--tmp-mb", "64"}, {"write-tmp", "100"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.value("write_errno"), ENOSPC) << r.out;
  EXPECT_GE(r.value("written_mb"), 56) << r.out;
  EXPECT_LE(r.value("written_mb"), 64) << r.out;
}

TEST_F(SandboxCommandTest, PythonRunsInside) {
  auto r = sandbox({}, {"/usr/bin/python3", "-c", "print(1+1)"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "2\n") << r.err;
}

TEST_F(SandboxCommandTest, NodeRunsInside) {
  auto r = sandbox({}, {"/usr/bin/node", "-e", "console.log(2)"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "2\n") << r.err;
}

}  // namespace

namespace {

// Default-deny seccomp, seen from inside a real environment: every interface the policy names is
// refused with its documented answer (docs/seccomp.md), and what runtimes use still works.
TEST_F(SandboxCommandTest, DefaultDenySeccompRefusesEachDangerousInterface) {
  auto r = probe({}, {"refusals"});
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  const std::map<std::string, int> expected = {
      {"socket_vsock_errno", EAFNOSUPPORT},
      {"socket_vsock_high_bits_errno", EAFNOSUPPORT},
      {"socket_packet_errno", EAFNOSUPPORT},
      {"socket_alg_errno", EAFNOSUPPORT},
      {"socketpair_vsock_errno", EAFNOSUPPORT},
      {"socket_netlink_audit_errno", EPROTONOSUPPORT},
      {"io_uring_setup_errno", EPERM},
      {"name_to_handle_at_errno", EPERM},
      {"open_tree_attr_errno", ENOSYS},
      {"modify_ldt_errno", EPERM},
      {"personality_no_randomize_errno", EPERM},
      {"fanotify_init_errno", EPERM},
      {"fanotify_mark_errno", EPERM},
      {"memfd_secret_errno", EPERM},
      {"pidfd_getfd_errno", EPERM},
      {"kcmp_errno", EPERM},
      {"clone3_errno", ENOSYS},
      {"unknown_syscall_errno", ENOSYS},
      {"ioctl_tiocsti_errno", EPERM},
      {"ioctl_tiocsti_high_bits_errno", EPERM},
      // Still allowed.
      {"socket_netlink_route_errno", 0},
      {"socket_unix_errno", 0},
      {"socket_inet6_errno", 0},
      {"personality_query_errno", 0},
      {"fork_errno", 0},
  };
  for (const auto& [key, err] : expected) {
    EXPECT_EQ(r.value(key), err) << key << " (" << std::strerror(err) << ")\n" << r.out;
  }
}

}  // namespace
