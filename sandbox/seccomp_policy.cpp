// The function seccomp policy: its allow-list and refusals (with reasons), their compilation to
// classic BPF by libseccomp, and installing it.
#include "sandbox/seccomp_policy.hpp"

#include <linux/netlink.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <utility>

#include "sandbox/unique_fd.hpp"

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

// Owner of a libseccomp filter context.
struct ContextRelease {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using Context = std::unique_ptr<void, ContextRelease>;

// Every argument checked here is an int or an unsigned int to the kernel, which ignores the high
// half of the register, so the filter must too: libseccomp compares all 64 bits, but a masked
// comparison whose mask has no high bit compares only the low 32.
constexpr uint64_t kLow32 = 0xffffffffu;

scmp_arg_cmp low32_masked(unsigned arg, uint32_t mask, uint32_t value) {
  return scmp_arg_cmp{arg, SCMP_CMP_MASKED_EQ, mask, value};
}
scmp_arg_cmp low32_eq(unsigned arg, uint32_t value) {
  return scmp_arg_cmp{arg, SCMP_CMP_MASKED_EQ, kLow32, value};
}

// Patterns (mask, value) that together match exactly the 32-bit values not in `values` (which
// must not be empty): the complement of `values` in a binary trie, walked from the top bit.
// libseccomp has no "not one of" on a masked argument (SCMP_CMP_NE compares all 64 bits, and a
// rule may compare an argument once), and overlapping rules with different actions are a union
// whose winner libseccomp does not define; disjoint patterns keep every answer defined.
void low32_not_in(const std::vector<uint32_t>& values, int bit, uint32_t mask, uint32_t prefix,
                  std::vector<std::pair<uint32_t, uint32_t>>& out) {
  if (bit < 0) return;  // the whole value is in `values`
  const uint32_t b = 1u << bit;
  std::vector<uint32_t> zeros, ones;
  for (uint32_t v : values) (v & b ? ones : zeros).push_back(v);
  for (auto [side, set] : {std::pair{0u, &zeros}, std::pair{b, &ones}}) {
    if (set->empty())
      out.emplace_back(mask | b, prefix | side);
    else
      low32_not_in(*set, bit - 1, mask | b, prefix | side, out);
  }
}
std::vector<std::pair<uint32_t, uint32_t>> low32_not_in(const std::vector<uint32_t>& values) {
  std::vector<std::pair<uint32_t, uint32_t>> out;
  low32_not_in(values, 31, 0, 0, out);
  return out;
}

// Adds one rule; libseccomp returns -errno.
Result<void> add(const Context& ctx, uint32_t action, int nr, std::vector<scmp_arg_cmp> args,
                 const char* what) {
  const int rc = seccomp_rule_add_exact_array(ctx.get(), action, nr,
                                              static_cast<unsigned>(args.size()), args.data());
  if (rc != 0) return fail("seccomp_rule_add", -rc, what);
  return {};
}

// The argument checks (the table in docs/seccomp.md), each as disjoint rules.
Result<void> add_argument_checks(const Context& ctx) {
  auto nr = [](const char* name) { return seccomp_syscall_resolve_name(name); };
  const uint32_t allow = SCMP_ACT_ALLOW;
  const uint32_t eperm = SCMP_ACT_ERRNO(EPERM);
  std::vector<Result<void>> results;

  // clone: no namespace flag allowed; each flag present is EPERM.
  results.push_back(
      add(ctx, allow, nr("clone"), {low32_masked(0, kCloneNamespaceFlags, 0)}, "clone"));
  for (uint32_t flag = 1; flag != 0; flag <<= 1) {
    if (kCloneNamespaceFlags & flag)
      results.push_back(add(ctx, eperm, nr("clone"), {low32_masked(0, flag, flag)}, "clone"));
  }

  // ioctl: TIOCSTI and TIOCLINUX are EPERM, any other request passes.
  const std::vector<uint32_t> tty_injection = {TIOCSTI, TIOCLINUX};
  for (uint32_t request : tty_injection)
    results.push_back(add(ctx, eperm, nr("ioctl"), {low32_eq(1, request)}, "ioctl"));
  for (auto [mask, value] : low32_not_in(tty_injection))
    results.push_back(add(ctx, allow, nr("ioctl"), {low32_masked(1, mask, value)}, "ioctl"));

  // personality: PER_LINUX and the query pass, anything else is EPERM.
  const std::vector<uint32_t> personas = {PER_LINUX, kPersonalityQuery};
  for (uint32_t persona : personas)
    results.push_back(add(ctx, allow, nr("personality"), {low32_eq(0, persona)}, "personality"));
  for (auto [mask, value] : low32_not_in(personas))
    results.push_back(
        add(ctx, eperm, nr("personality"), {low32_masked(0, mask, value)}, "personality"));

  // socket: four families; netlink only for NETLINK_ROUTE.
  const std::vector<uint32_t> families = {AF_UNIX, AF_INET, AF_INET6, AF_NETLINK};
  for (uint32_t family : {AF_UNIX, AF_INET, AF_INET6})
    results.push_back(add(ctx, allow, nr("socket"), {low32_eq(0, family)}, "socket"));
  results.push_back(add(ctx, allow, nr("socket"),
                        {low32_eq(0, AF_NETLINK), low32_eq(2, NETLINK_ROUTE)}, "socket"));
  for (auto [mask, value] : low32_not_in({NETLINK_ROUTE}))
    results.push_back(add(ctx, SCMP_ACT_ERRNO(EPROTONOSUPPORT), nr("socket"),
                          {low32_eq(0, AF_NETLINK), low32_masked(2, mask, value)}, "socket"));
  for (auto [mask, value] : low32_not_in(families))
    results.push_back(add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), nr("socket"),
                          {low32_masked(0, mask, value)}, "socket"));

  // socketpair: AF_UNIX only.
  results.push_back(add(ctx, allow, nr("socketpair"), {low32_eq(0, AF_UNIX)}, "socketpair"));
  for (auto [mask, value] : low32_not_in({AF_UNIX}))
    results.push_back(add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), nr("socketpair"),
                          {low32_masked(0, mask, value)}, "socketpair"));

  for (auto& result : results)
    if (!result) return result;
  return {};
}

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
  // Default deny: whatever no rule matches answers ENOSYS.
  Context ctx(seccomp_init(SCMP_ACT_ERRNO(ENOSYS)));
  if (!ctx) return fail("seccomp_init", ENOMEM);
  // i386 (int 0x80) and x32 entry points kill: none of our runtimes use them, and numbers meant
  // for the native table would not mean the same there. A native-only x86_64 filter sends x32
  // numbers (bit 30 set) to the bad-architecture action too; only -1 (a tracer's "skip this
  // call") goes on to the default, ENOSYS.
  int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  // A binary tree over the system call numbers instead of one comparison after another.
  if (rc == 0) rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2);
  if (rc != 0) return fail("seccomp_attr_set", -rc);

  for (const std::string& name : function_seccomp_allowed()) {
    // Negative: a pseudo-number, the name exists on another architecture only.
    const int nr = seccomp_syscall_resolve_name(name.c_str());
    if (nr < 0) continue;
    if (auto added = add(ctx, SCMP_ACT_ALLOW, nr, {}, name.c_str()); !added)
      return std::unexpected(added.error());
  }
  for (const SeccompRule& rule : function_seccomp_rules()) {
    if (!rule.condition.empty()) continue;  // the argument checks below
    // ENOSYS (clone3) is the default's answer already; libseccomp refuses such a rule (EACCES).
    if (rule.errno_value == ENOSYS) continue;
    const int nr = seccomp_syscall_resolve_name(rule.syscall.c_str());
    if (nr < 0) return fail("seccomp rules", EINVAL, rule.syscall);
    if (auto added = add(ctx, SCMP_ACT_ERRNO(static_cast<uint32_t>(rule.errno_value)), nr, {},
                         rule.syscall.c_str());
        !added)
      return std::unexpected(added.error());
  }
  if (auto checks = add_argument_checks(ctx); !checks) return std::unexpected(checks.error());

  // The classic BPF libseccomp generated, read back so the init installs it with one prctl()
  // and no allocation between clone and exec.
  UniqueFd fd(::memfd_create("seccomp-bpf", MFD_CLOEXEC));
  if (!fd) return fail("memfd_create", errno);
  if ((rc = seccomp_export_bpf(ctx.get(), fd.get())) != 0) return fail("seccomp_export_bpf", -rc);
  const off_t size = ::lseek(fd.get(), 0, SEEK_END);
  if (size <= 0 || size % static_cast<off_t>(sizeof(sock_filter)) != 0)
    return fail("seccomp program size", EINVAL);
  SeccompProgram program;
  program.instructions.resize(static_cast<size_t>(size) / sizeof(sock_filter));
  if (::pread(fd.get(), program.instructions.data(), static_cast<size_t>(size), 0) != size)
    return fail("seccomp program read", errno ? errno : EIO);
  if (program.instructions.size() > BPF_MAXINSNS) return fail("seccomp program", E2BIG);
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
