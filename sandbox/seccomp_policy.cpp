// The function seccomp policy: its allow-list and refusals (with reasons), their compilation to
// classic BPF, and installing it.
#include "sandbox/seccomp_policy.hpp"

#include <linux/audit.h>
#include <linux/netlink.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <map>

namespace sandbox {
namespace {

// Namespace flags clone() may not carry. CLONE_NEWTIME is absent on purpose: its bit is part of
// clone()'s exit-signal byte, and only clone3/unshare (both refused) can ask for it.
constexpr uint32_t kCloneNamespaceFlags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC |
                                          CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET |
                                          CLONE_NEWCGROUP;
constexpr uint32_t kPersonalityQuery = 0xffffffffu;

std::vector<SeccompRule> make_rules() {
  const std::string mount_api =
      "mount API; the sandbox's filesystem layout is fixed before the function starts";
  const std::string kernel_code = "loads or replaces kernel code";
  const std::string clock = "sets the host's clock, which is shared by every environment";
  const std::string keys =
      "kernel keyrings are not namespaced and have a history of privilege-escalation bugs";
  const std::string io_uring =
      "io_uring: a second system call interface that seccomp cannot see into, and a frequent "
      "source of kernel bugs; libuv and others fall back to threads";
  const std::string fanotify = "filesystem-wide event monitoring";
  return {
      {"mount", "", EPERM, mount_api},
      {"umount2", "", EPERM, mount_api},
      {"pivot_root", "", EPERM, mount_api},
      {"fsopen", "", EPERM, "new " + mount_api},
      {"fsconfig", "", EPERM, "new " + mount_api},
      {"fsmount", "", EPERM, "new " + mount_api},
      {"fspick", "", EPERM, "new " + mount_api},
      {"move_mount", "", EPERM, "new " + mount_api},
      {"open_tree", "", EPERM, "new " + mount_api},
      {"mount_setattr", "", EPERM, "new " + mount_api},
      {"unshare", "", EPERM, "new namespaces (see clone)"},
      {"setns", "", EPERM, "joining another namespace"},
      {"clone", "flags & CLONE_NEW{NS,UTS,IPC,USER,PID,NET,CGROUP}", EPERM,
       "a new namespace; a user namespace would hand the function every capability inside it, "
       "and with them the kernel's namespaced attack surface"},
      {"clone3", "", ENOSYS,
       "its flags live in memory, out of a filter's reach; ENOSYS makes glibc fall back to "
       "clone(), whose flags are checked (EPERM would fail every pthread_create)"},
      {"ptrace", "", EPERM, "inspecting or controlling other processes"},
      {"process_vm_readv", "", EPERM, "reading another process's memory"},
      {"process_vm_writev", "", EPERM, "writing another process's memory"},
      {"kcmp", "", EPERM, "compares kernel objects of two processes: a kernel address oracle"},
      {"pidfd_getfd", "", EPERM, "steals a file descriptor from another process"},
      {"reboot", "", EPERM, "host power state"},
      {"kexec_load", "", EPERM, kernel_code},
      {"kexec_file_load", "", EPERM, kernel_code},
      {"init_module", "", EPERM, kernel_code},
      {"finit_module", "", EPERM, kernel_code},
      {"delete_module", "", EPERM, kernel_code},
      {"bpf", "", EPERM, "eBPF programs and maps: large kernel attack surface"},
      {"perf_event_open", "", EPERM,
       "performance counters: side channels and a long list of kernel bugs"},
      {"keyctl", "", EPERM, keys},
      {"add_key", "", EPERM, keys},
      {"request_key", "", EPERM, keys},
      {"swapon", "", EPERM, "host swap configuration"},
      {"swapoff", "", EPERM, "host swap configuration"},
      {"settimeofday", "", EPERM, clock},
      {"clock_settime", "", EPERM, clock},
      {"clock_adjtime", "", EPERM, clock},
      {"adjtimex", "", EPERM, clock},
      {"iopl", "", EPERM, "raw I/O port access"},
      {"ioperm", "", EPERM, "raw I/O port access"},
      {"modify_ldt", "", EPERM,
       "16-bit segments: no runtime needs them, and they keep old kernel bugs reachable"},
      {"userfaultfd", "", EPERM,
       "lets a caller stall the kernel mid-copy, a standard step in exploiting kernel races"},
      {"open_by_handle_at", "", EPERM,
       "opens files by handle, bypassing path lookup and so the sandbox's root"},
      {"name_to_handle_at", "", EPERM,
       "the other half of open_by_handle_at; it also leaks inode identities of the host"},
      {"quotactl", "", EPERM, "filesystem quota administration"},
      {"quotactl_fd", "", EPERM, "filesystem quota administration"},
      {"acct", "", EPERM, "host process accounting"},
      {"lookup_dcookie", "", EPERM, "kernel profiling interface"},
      {"io_uring_setup", "", EPERM, io_uring},
      {"io_uring_enter", "", EPERM, io_uring},
      {"io_uring_register", "", EPERM, io_uring},
      {"fanotify_init", "", EPERM, fanotify},
      {"fanotify_mark", "", EPERM, fanotify},
      {"memfd_secret", "", EPERM,
       "memory removed from the kernel's direct map: hides a function's memory from the host"},
      {"personality", "persona not PER_LINUX (0) or the query 0xffffffff", EPERM,
       "execution domains and flags such as ADDR_NO_RANDOMIZE or READ_IMPLIES_EXEC weaken "
       "the process's own defences"},
      {"socket", "family not AF_UNIX, AF_INET, AF_INET6 or AF_NETLINK", EAFNOSUPPORT,
       "other families (AF_VSOCK reaches the hypervisor, AF_PACKET, AF_ALG, AF_KCM, ...) are "
       "large, rarely used kernel code"},
      {"socket", "family AF_NETLINK, protocol not NETLINK_ROUTE", EPROTONOSUPPORT,
       "NETLINK_ROUTE is what getaddrinfo and getifaddrs use; the other netlink families "
       "(audit, netfilter, uevents, ...) are administration"},
      {"socketpair", "family not AF_UNIX", EAFNOSUPPORT, "as for socket"},
      {"ioctl", "request == TIOCSTI", EPERM,
       "pushes input into a terminal, which could be the host's"},
      {"ioctl", "request == TIOCLINUX", EPERM,
       "virtual console control (selection paste is another input injection)"},
  };
}

// The system calls of Docker's default profile (moby/profiles seccomp/default.json, the list it
// allows unconditionally) minus what the rules above refuse, plus arch_prctl; names of every
// architecture, as Docker lists them.
std::vector<std::string> make_allowed() {
  return {
      // clang-format off
      "_llseek", "_newselect", "accept", "accept4", "access", "alarm", "arch_prctl", "bind", "brk",
      "cachestat", "capget", "capset", "chdir", "chmod", "chown", "chown32", "clock_getres",
      "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
      "clock_nanosleep_time64", "close", "close_range", "connect", "copy_file_range", "creat", "dup",
      "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
      "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat",
      "exit", "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate",
      "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl",
      "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr",
      "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate",
      "ftruncate64", "futex", "futex_requeue", "futex_time64", "futex_wait", "futex_waitv",
      "futex_wake", "futimesat", "get_robust_list", "get_thread_area", "getcpu", "getcwd",
      "getdents", "getdents64", "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32",
      "getgroups", "getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid",
      "getppid", "getpriority", "getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32",
      "getrlimit", "getrusage", "getsid", "getsockname", "getsockopt", "gettid", "gettimeofday",
      "getuid", "getuid32", "getxattr", "getxattrat", "inotify_add_watch", "inotify_init",
      "inotify_init1", "inotify_rm_watch", "io_cancel", "io_destroy", "io_getevents",
      "io_pgetevents", "io_pgetevents_time64", "io_setup", "io_submit", "ioprio_get", "ioprio_set",
      "ipc", "kill", "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self",
      "lchown", "lchown32", "lgetxattr", "link", "linkat", "listen", "listmount", "listxattr",
      "listxattrat", "llistxattr", "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64",
      "madvise", "map_shadow_stack", "membarrier", "memfd_create", "mincore", "mkdir", "mkdirat",
      "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect",
      "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64",
      "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap", "mseal", "msgctl", "msgget",
      "msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap", "nanosleep", "newfstatat",
      "open", "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2",
      "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl",
      "pread64", "preadv", "preadv2", "prlimit64", "process_mrelease", "pselect6", "pselect6_time64",
      "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv",
      "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "remap_file_pages",
      "removexattr", "removexattrat", "rename", "renameat", "renameat2", "restart_syscall",
      "riscv_hwprobe", "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask",
      "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
      "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_get_priority_max",
      "sched_get_priority_min", "sched_getaffinity", "sched_getattr", "sched_getparam",
      "sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64",
      "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield",
      "seccomp", "select", "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send",
      "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto", "set_robust_list",
      "set_thread_area", "set_tid_address", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32",
      "setgid", "setgid32", "setgroups", "setgroups32", "setitimer", "setpgid", "setpriority",
      "setregid", "setregid32", "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid",
      "setreuid32", "setrlimit", "setsid", "setsockopt", "setuid", "setuid32", "setxattr",
      "setxattrat", "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd",
      "signalfd4", "sigprocmask", "sigreturn", "socketcall", "splice", "stat", "stat64", "statfs",
      "statfs64", "statmount", "statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs",
      "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete", "timer_getoverrun",
      "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create",
      "timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times",
      "tkill", "truncate", "truncate64", "ugetrlimit", "umask", "uname", "unlink", "unlinkat",
      "uretprobe", "utime", "utimensat", "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4",
      "waitid", "waitpid", "write", "writev",
      // clang-format on
  };
}

// What one system call number gets.
enum class Check { None, Clone, Ioctl, Personality, Socket, Socketpair };
struct Decision {
  uint32_t ret = SECCOMP_RET_ERRNO | ENOSYS;
  Check check = Check::None;
  bool operator==(const Decision&) const = default;
};

constexpr uint32_t ret_errno(int e) {
  return SECCOMP_RET_ERRNO | (static_cast<uint32_t>(e) & SECCOMP_RET_DATA);
}

// The low 32 bits of argument `i` (little-endian): every argument checked here is an int or an
// unsigned int to the kernel, which ignores the high half, so the filter must too.
constexpr uint32_t arg_low(unsigned i) {
  return static_cast<uint32_t>(offsetof(seccomp_data, args) + i * sizeof(uint64_t));
}

sock_filter stmt(uint16_t code, uint32_t k) { return BPF_STMT(code, k); }
sock_filter jump(uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) {
  return BPF_JUMP(code, k, jt, jf);
}

// The instructions deciding an argument-checked system call (the number is already known).
std::vector<sock_filter> check_block(Check check) {
  constexpr uint16_t kLoad = BPF_LD | BPF_W | BPF_ABS;
  constexpr uint16_t kJeq = BPF_JMP | BPF_JEQ | BPF_K;
  constexpr uint16_t kRet = BPF_RET | BPF_K;
  switch (check) {
    case Check::Clone:
      return {stmt(kLoad, arg_low(0)), jump(BPF_JMP | BPF_JSET | BPF_K, kCloneNamespaceFlags, 0, 1),
              stmt(kRet, ret_errno(EPERM)), stmt(kRet, SECCOMP_RET_ALLOW)};
    case Check::Ioctl:
      return {stmt(kLoad, arg_low(1)), jump(kJeq, TIOCSTI, 2, 0), jump(kJeq, TIOCLINUX, 1, 0),
              stmt(kRet, SECCOMP_RET_ALLOW), stmt(kRet, ret_errno(EPERM))};
    case Check::Personality:
      return {stmt(kLoad, arg_low(0)), jump(kJeq, PER_LINUX, 1, 0),
              jump(kJeq, kPersonalityQuery, 0, 1), stmt(kRet, SECCOMP_RET_ALLOW),
              stmt(kRet, ret_errno(EPERM))};
    case Check::Socket:
      return {stmt(kLoad, arg_low(0)),
              jump(kJeq, AF_UNIX, 7, 0),
              jump(kJeq, AF_INET, 6, 0),
              jump(kJeq, AF_INET6, 5, 0),
              jump(kJeq, AF_NETLINK, 1, 0),
              stmt(kRet, ret_errno(EAFNOSUPPORT)),
              stmt(kLoad, arg_low(2)),
              jump(kJeq, NETLINK_ROUTE, 1, 0),
              stmt(kRet, ret_errno(EPROTONOSUPPORT)),
              stmt(kRet, SECCOMP_RET_ALLOW)};
    case Check::Socketpair:
      return {stmt(kLoad, arg_low(0)), jump(kJeq, AF_UNIX, 0, 1), stmt(kRet, SECCOMP_RET_ALLOW),
              stmt(kRet, ret_errno(EAFNOSUPPORT))};
    case Check::None:
      break;
  }
  return {};
}

// A run of consecutive system call numbers with one decision, from `first` up to the next run.
struct Run {
  uint32_t first;
  Decision decision;
};

// A binary search over the runs: each inner node is one `jge`, each leaf a `ret` or a check
// block. Far fewer instructions than one comparison per system call, since allowed numbers
// mostly come in ranges. Jumps are forward only and must fit in 8 bits.
Result<std::vector<sock_filter>> search(const std::vector<Run>& runs, size_t lo, size_t hi) {
  if (hi - lo == 1) {
    const Decision& d = runs[lo].decision;
    if (d.check != Check::None) return check_block(d.check);
    return std::vector<sock_filter>{stmt(BPF_RET | BPF_K, d.ret)};
  }
  const size_t mid = lo + (hi - lo) / 2;
  auto left = search(runs, lo, mid);
  if (!left) return left;
  auto right = search(runs, mid, hi);
  if (!right) return right;
  if (left->size() > 255) return fail("seccomp program layout", E2BIG, "jump over 255");
  std::vector<sock_filter> out{
      jump(BPF_JMP | BPF_JGE | BPF_K, runs[mid].first, static_cast<uint8_t>(left->size()), 0)};
  out.insert(out.end(), left->begin(), left->end());
  out.insert(out.end(), right->begin(), right->end());
  return out;
}

#if defined(__x86_64__)
constexpr uint32_t kNativeArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr uint32_t kNativeArch = AUDIT_ARCH_AARCH64;
#else
#error "seccomp policy: unsupported architecture"
#endif

}  // namespace

const std::vector<SeccompRule>& function_seccomp_rules() {
  static const std::vector<SeccompRule> rules = make_rules();
  return rules;
}

const std::vector<std::string>& function_seccomp_allowed() {
  static const std::vector<std::string> allowed = make_allowed();
  return allowed;
}

const std::vector<std::string>& function_seccomp_argument_checked() {
  static const std::vector<std::string> checked = {"clone", "ioctl", "personality", "socket",
                                                   "socketpair"};
  return checked;
}

Result<SeccompProgram> build_function_seccomp_program() {
  // One decision per system call number; numbers past the table share the last run (ENOSYS).
  constexpr int kTable = 1024;
  std::vector<Decision> table(kTable);
  auto number = [](const std::string& name) {
    // Negative: a pseudo-number, the name exists on another architecture only.
    return seccomp_syscall_resolve_name_arch(SCMP_ARCH_NATIVE, name.c_str());
  };
  for (const std::string& name : function_seccomp_allowed()) {
    const int nr = number(name);
    if (nr < 0) continue;
    if (nr >= kTable) return fail("seccomp allow-list", ERANGE, name);
    table[static_cast<size_t>(nr)].ret = SECCOMP_RET_ALLOW;
  }
  for (const SeccompRule& rule : function_seccomp_rules()) {
    const int nr = number(rule.syscall);
    if (nr < 0 || !rule.condition.empty()) continue;  // conditions: the check blocks below
    if (nr >= kTable) return fail("seccomp rules", ERANGE, rule.syscall);
    table[static_cast<size_t>(nr)].ret = ret_errno(rule.errno_value);
  }
  const std::map<std::string, Check> checks = {{"clone", Check::Clone},
                                               {"ioctl", Check::Ioctl},
                                               {"personality", Check::Personality},
                                               {"socket", Check::Socket},
                                               {"socketpair", Check::Socketpair}};
  for (const auto& [name, check] : checks) {
    const int nr = number(name);
    if (nr < 0 || nr >= kTable) return fail("seccomp argument check", EINVAL, name);
    table[static_cast<size_t>(nr)] = Decision{SECCOMP_RET_ALLOW, check};
  }
  std::vector<Run> runs;
  for (size_t nr = 0; nr < table.size(); ++nr) {
    if (runs.empty() || !(runs.back().decision == table[nr]) || table[nr].check != Check::None)
      runs.push_back(Run{static_cast<uint32_t>(nr), table[nr]});
  }

  SeccompProgram program;
  auto& out = program.instructions;
  constexpr uint16_t kLoad = BPF_LD | BPF_W | BPF_ABS;
  // i386 (int 0x80) and x32 entry points: none of our runtimes use them, and numbers meant for
  // the native table would not mean the same there.
  out.push_back(stmt(kLoad, offsetof(seccomp_data, arch)));
  out.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, kNativeArch, 1, 0));
  out.push_back(stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
  out.push_back(stmt(kLoad, offsetof(seccomp_data, nr)));
#if defined(__x86_64__)
  constexpr uint32_t kX32SyscallBit = 0x40000000;
  out.push_back(jump(BPF_JMP | BPF_JGE | BPF_K, kX32SyscallBit, 0, 1));
  out.push_back(stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
#endif
  auto tree = search(runs, 0, runs.size());
  if (!tree) return std::unexpected(tree.error());
  out.insert(out.end(), tree->begin(), tree->end());
  if (out.size() > BPF_MAXINSNS) return fail("seccomp program", E2BIG);
  return program;
}

int install_seccomp_program(const SeccompProgram& program) {
  sock_fprog fprog{};
  fprog.len = static_cast<unsigned short>(program.instructions.size());
  fprog.filter = const_cast<sock_filter*>(program.instructions.data());
  if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) != 0) return errno;
  return 0;
}

}  // namespace sandbox
