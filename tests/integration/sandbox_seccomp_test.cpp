// Integration tests of the function seccomp filter: each probe runs in a forked child, once without
// the filter (where it must succeed, so the refusal is the filter's doing) and once under it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/keyctl.h>
#include <linux/netlink.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

#include "sandbox/seccomp_policy.hpp"
#include "tests/integration/support.hpp"

namespace {

using sandbox::SeccompProgram;

// What a child came to: its probe's result (0 or an errno), or -signal if it was killed.
constexpr int kInstallFailed = 250;

// Forks; the child optionally installs `program`, runs `probe` and exits with its result.
int run_in_child(const SeccompProgram* program, int (*probe)()) {
  pid_t pid = ::fork();
  if (pid < 0) return -1000;
  if (pid == 0) {
    if (program != nullptr) {
      if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ::_exit(kInstallFailed);
      if (sandbox::install_seccomp_program(*program) != 0) ::_exit(kInstallFailed);
    }
    ::_exit(probe());
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return WEXITSTATUS(status);
}

// Waits for a child made by a raw clone; 0 if it exited 0.
int reap(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) < 0) return errno;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : ECHILD;
}

int errno_of(long rc) { return rc < 0 ? errno : 0; }

int probe_unshare_user() { return errno_of(::unshare(CLONE_NEWUSER)); }
int probe_ptrace_traceme() { return errno_of(::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr)); }
int probe_keyctl() {
  return errno_of(::syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 1));
}
int probe_perf_event_open() {
  perf_event_attr attr{};
  attr.type = PERF_TYPE_SOFTWARE;
  attr.size = sizeof attr;
  attr.config = PERF_COUNT_SW_CPU_CLOCK;
  attr.disabled = 1;
  attr.exclude_kernel = 1;
  attr.exclude_hv = 1;
  long fd = ::syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
  if (fd < 0) return errno;
  ::close(static_cast<int>(fd));
  return 0;
}
int probe_clone3() {
  struct {  // struct clone_args, version 0 (CLONE_ARGS_SIZE_VER0)
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
  } args{};
  args.exit_signal = SIGCHLD;
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid == 0) ::syscall(SYS_exit_group, 0);
  if (pid < 0) return errno;
  return reap(static_cast<pid_t>(pid));
}
int probe_clone_newpid() {
  long pid = ::syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0);
  if (pid == 0) ::syscall(SYS_exit_group, 0);
  if (pid < 0) return errno;
  return reap(static_cast<pid_t>(pid));
}
int probe_pthread_create() {
  pthread_t thread;
  int rc = ::pthread_create(
      &thread, nullptr, [](void*) -> void* { return nullptr; }, nullptr);
  if (rc != 0) return rc;
  return ::pthread_join(thread, nullptr);
}
int probe_fork() {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  if (pid < 0) return errno;
  return reap(pid);
}
int exec_result(const char* path, const char* flag, const char* code) {
  const char* argv[] = {path, flag, code, nullptr};
  const char* envp[] = {"PATH=/usr/bin:/bin", nullptr};
  ::execve(path, const_cast<char* const*>(argv), const_cast<char* const*>(envp));
  return errno;
}
int probe_python() {
  return exec_result("/usr/bin/python3", "-c",
                     "import threading, subprocess\n"
                     "t = threading.Thread(target=lambda: None); t.start(); t.join()\n"
                     "subprocess.run(['/bin/true'], check=True)\n");
}
int probe_socket_vsock() {
  constexpr int kAfVsock = 40;
  const int fd = ::socket(kAfVsock, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  ::close(fd);
  return 0;
}
int probe_socket_netlink_audit() {
  const int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
  if (fd < 0) return errno;
  ::close(fd);
  return 0;
}
int probe_io_uring_setup() {
  unsigned char params[120] = {};  // struct io_uring_params
  const long fd = ::syscall(SYS_io_uring_setup, 1, params);
  if (fd < 0) return errno;
  ::close(static_cast<int>(fd));
  return 0;
}
int probe_kcmp() { return errno_of(::syscall(SYS_kcmp, ::getpid(), ::getpid(), 0, 0, 0)); }
int probe_pidfd_getfd() {
  const long pidfd = ::syscall(SYS_pidfd_open, ::getpid(), 0);
  if (pidfd < 0) return 1000 + errno;
  const long fd = ::syscall(SYS_pidfd_getfd, pidfd, 0, 0);
  return fd < 0 ? errno : 0;
}
int probe_personality_no_randomize() {
  return errno_of(::syscall(SYS_personality, ADDR_NO_RANDOMIZE));
}
int probe_memfd_create() {
  const int fd = ::memfd_create("probe", MFD_CLOEXEC);
  if (fd < 0) return errno;
  ::close(fd);
  return 0;
}
int probe_node() {
  return exec_result("/usr/bin/node", "-e",
                     "setTimeout(() => { require('child_process').execSync('/bin/true'); }, 10);");
}

struct Probe {
  const char* name;
  int (*run)();
  int under_filter;  // the probe's result with the filter installed
};

const Probe kProbes[] = {
    {"UnshareNewUser", probe_unshare_user, EPERM},
    {"PtraceTraceme", probe_ptrace_traceme, EPERM},
    {"KeyctlGetSessionKeyring", probe_keyctl, EPERM},
    {"PerfEventOpenSoftwareClock", probe_perf_event_open, EPERM},
    {"RawClone3", probe_clone3, ENOSYS},
    {"CloneNewPid", probe_clone_newpid, EPERM},
    {"SocketVsock", probe_socket_vsock, EAFNOSUPPORT},
    {"SocketNetlinkAudit", probe_socket_netlink_audit, EPROTONOSUPPORT},
    {"IoUringSetup", probe_io_uring_setup, EPERM},
    {"Kcmp", probe_kcmp, EPERM},
    {"PidfdGetfd", probe_pidfd_getfd, EPERM},
    {"PersonalityNoRandomize", probe_personality_no_randomize, EPERM},
    {"MemfdCreate", probe_memfd_create, 0},
    {"PthreadCreate", probe_pthread_create, 0},
    {"Fork", probe_fork, 0},
    {"Python3ThreadsAndSubprocess", probe_python, 0},
    {"NodeTimerAndChildProcess", probe_node, 0},
};

const SeccompProgram& program() {
  static const SeccompProgram built = [] {
    auto result = sandbox::build_function_seccomp_program();
    if (!result) throw std::runtime_error(result.error().to_string());
    return *result;
  }();
  return built;
}

class SeccompProbe : public testing::TestWithParam<Probe> {};

TEST_P(SeccompProbe, SucceedsWithoutTheFilter) {
  EXPECT_EQ(run_in_child(nullptr, GetParam().run), 0);
}

TEST_P(SeccompProbe, UnderTheFilterGivesItsExpectedResult) {
  EXPECT_EQ(run_in_child(&program(), GetParam().run), GetParam().under_filter);
}

INSTANTIATE_TEST_SUITE_P(Probes, SeccompProbe, testing::ValuesIn(kProbes),
                         [](const testing::TestParamInfo<Probe>& info) { return info.param.name; });

int probe_status_says_filter_mode() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line == "Seccomp:\t2") return 0;
  }
  return ESRCH;
}

TEST(SeccompFilter, ProcStatusShowsFilterModeOnlyWhenInstalled) {
  EXPECT_EQ(run_in_child(nullptr, probe_status_says_filter_mode), ESRCH);
  EXPECT_EQ(run_in_child(&program(), probe_status_says_filter_mode), 0);
}

// A raw system call with full 64-bit arguments, as a caller may pass them: the kernel reads
// clone flags, the ioctl request, socket family and protocol and the persona as 32-bit values,
// so high bits must neither smuggle a refused value past the filter nor refuse an allowed one.
struct RawCall {
  const char* what;
  long nr;
  unsigned long args[3];
  int under_filter;  // 0 (the call reached the kernel and succeeded), or the errno
};

constexpr unsigned long kHigh = 1UL << 32;
constexpr unsigned long kNoFd = static_cast<unsigned long>(-1);
constexpr unsigned long kSignExtended = 0xffffffff00000000UL;

const RawCall kRawCalls[] = {
    {"ioctl TIOCSTI", SYS_ioctl, {kNoFd, TIOCSTI, 0}, EPERM},
    {"ioctl TIOCSTI, high bit", SYS_ioctl, {kNoFd, kHigh | TIOCSTI, 0}, EPERM},
    {"ioctl TIOCLINUX, sign-extended", SYS_ioctl, {kNoFd, kSignExtended | TIOCLINUX, 0}, EPERM},
    {"ioctl TCGETS reaches the kernel", SYS_ioctl, {kNoFd, TCGETS, 0}, EBADF},
    {"ioctl TIOCGPTN, sign-extended, reaches the kernel",
     SYS_ioctl,
     {kNoFd, kSignExtended | TIOCGPTN, 0},
     EBADF},
    {"socket AF_VSOCK, high bit",
     SYS_socket,
     {kHigh | 40, SOCK_STREAM | SOCK_CLOEXEC, 0},
     EAFNOSUPPORT},
    {"socket family 1000", SYS_socket, {1000, SOCK_STREAM | SOCK_CLOEXEC, 0}, EAFNOSUPPORT},
    {"socket AF_INET, high bit", SYS_socket, {kHigh | AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0}, 0},
    {"socket netlink audit, high bit",
     SYS_socket,
     {AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, kHigh | NETLINK_AUDIT},
     EPROTONOSUPPORT},
    {"socket netlink route, high bit",
     SYS_socket,
     {AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, kHigh | NETLINK_ROUTE},
     0},
    {"socketpair AF_INET", SYS_socketpair, {AF_INET, SOCK_STREAM, 0}, EAFNOSUPPORT},
    {"personality ADDR_NO_RANDOMIZE, high bit",
     SYS_personality,
     {kHigh | ADDR_NO_RANDOMIZE, 0, 0},
     EPERM},
    {"personality query, sign-extended", SYS_personality, {~0UL, 0, 0}, 0},
    {"personality PER_LINUX, high bit", SYS_personality, {kHigh, 0, 0}, 0},
    {"clone CLONE_NEWUSER, high bit", SYS_clone, {kHigh | CLONE_NEWUSER | SIGCHLD, 0, 0}, EPERM},
};

TEST(SeccompFilter, ArgumentChecksReadTheLow32BitsOnly) {
  for (const RawCall& call : kRawCalls) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ::_exit(kInstallFailed);
      if (sandbox::install_seccomp_program(program()) != 0) ::_exit(kInstallFailed);
      const long ret = ::syscall(call.nr, call.args[0], call.args[1], call.args[2], 0, 0, 0);
      if (ret == 0 && call.nr == SYS_clone) ::_exit(0);  // a child the filter let through
      ::_exit(ret < 0 ? errno : 0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status)) << call.what;
    EXPECT_EQ(WEXITSTATUS(status), call.under_filter) << call.what;
  }
}

#if defined(__x86_64__)
int probe_i386_getpid() {
  long ret;
  asm volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory", "r8", "r9", "r10", "r11");
  return ret == ::getpid() ? 0 : EINVAL;
}
int probe_x32_getpid() {
  constexpr long kX32SyscallBit = 0x40000000;
  return errno_of(::syscall(kX32SyscallBit | SYS_getpid));
}

TEST(SeccompFilter, I386EntryKillsTheProcess) {
  if (run_in_child(nullptr, probe_i386_getpid) != 0)
    GTEST_SKIP() << "kernel without ia32 emulation: int 0x80 fails without any filter";
  EXPECT_EQ(run_in_child(&program(), probe_i386_getpid), -SIGSYS);
}

TEST(SeccompFilter, X32EntryKillsTheProcess) {
  // Without the filter an x32 call returns (ENOSYS where x32 is off); with it, it never returns.
  int unfiltered = run_in_child(nullptr, probe_x32_getpid);
  EXPECT_TRUE(unfiltered == 0 || unfiltered == ENOSYS) << unfiltered;
  EXPECT_EQ(run_in_child(&program(), probe_x32_getpid), -SIGSYS);
}
#endif

TEST(SeccompDocs, DocumentEveryRefusedSyscall) {
  std::ifstream doc(testsupport::source_path("docs/seccomp.md"));
  ASSERT_TRUE(doc) << "docs/seccomp.md";
  std::stringstream text;
  text << doc.rdbuf();
  for (const auto& rule : sandbox::function_seccomp_rules()) {
    EXPECT_NE(text.str().find("`" + rule.syscall + "`"), std::string::npos) << rule.syscall;
  }
  for (const auto& name : sandbox::function_seccomp_allowed()) {
    EXPECT_NE(text.str().find("`" + name + "`"), std::string::npos) << name;
  }
  for (const auto& name : sandbox::function_seccomp_argument_checked()) {
    EXPECT_NE(text.str().find("`" + name + "`"), std::string::npos) << name;
  }
}

}  // namespace
