// The function seccomp policy: its rules (with reasons), their compilation to BPF, and installing
// it.
#include "sandbox/seccomp_policy.hpp"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include "sandbox/unique_fd.hpp"

namespace sandbox {
namespace {

// Rules refusing clone() when its flags (arg0 on x86_64 and aarch64) ask for a new namespace:
// one rule per flag, since libseccomp ORs rules but has no "masked != 0" comparison.
// CLONE_NEWTIME is absent on purpose: its bit is part of clone()'s exit-signal byte, and only
// clone3/unshare (both refused) can ask for it.
void add_clone_namespace_rules(std::vector<SeccompRule>& rules) {
  struct Flag {
    const char* name;
    uint64_t bit;
  };
  for (Flag flag : {Flag{"CLONE_NEWNS", CLONE_NEWNS}, Flag{"CLONE_NEWUTS", CLONE_NEWUTS},
                    Flag{"CLONE_NEWIPC", CLONE_NEWIPC}, Flag{"CLONE_NEWUSER", CLONE_NEWUSER},
                    Flag{"CLONE_NEWPID", CLONE_NEWPID}, Flag{"CLONE_NEWNET", CLONE_NEWNET},
                    Flag{"CLONE_NEWCGROUP", CLONE_NEWCGROUP}}) {
    rules.push_back({"clone", std::string("flags & ") + flag.name, EPERM,
                     "a new namespace; a user namespace would hand the function every capability "
                     "inside it, and with them the kernel's namespaced attack surface",
                     SeccompArgMatch{0, flag.bit, flag.bit}});
  }
}

std::vector<SeccompRule> make_rules() {
  const std::string mount_api =
      "mount API; the sandbox's filesystem layout is fixed before the function starts";
  const std::string kernel_code = "loads or replaces kernel code";
  const std::string clock = "sets the host's clock, which is shared by every environment";
  const std::string keys =
      "kernel keyrings are not namespaced and have a history of privilege-escalation bugs";
  // The request number is an int in the kernel: compare the low 32 bits only, or a caller could
  // set high bits to slip past an exact 64-bit comparison.
  constexpr uint64_t kIoctlRequestMask = 0xffffffffu;

  std::vector<SeccompRule> rules = {
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
      {"clone3", "", ENOSYS,
       "its flags live in memory, out of a filter's reach; ENOSYS makes glibc fall back to "
       "clone(), whose flags are checked (EPERM would fail every pthread_create)"},
      {"ptrace", "", EPERM, "inspecting or controlling other processes"},
      {"process_vm_readv", "", EPERM, "reading another process's memory"},
      {"process_vm_writev", "", EPERM, "writing another process's memory"},
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
      {"userfaultfd", "", EPERM,
       "lets a caller stall the kernel mid-copy, a standard step in exploiting kernel races"},
      {"open_by_handle_at", "", EPERM,
       "opens files by handle, bypassing path lookup and so the sandbox's root"},
      {"quotactl", "", EPERM, "filesystem quota administration"},
      {"quotactl_fd", "", EPERM, "filesystem quota administration"},
      {"acct", "", EPERM, "host process accounting"},
      {"lookup_dcookie", "", EPERM, "kernel profiling interface"},
      {"ioctl", "request == TIOCSTI", EPERM,
       "pushes input into a terminal, which could be the host's",
       SeccompArgMatch{1, kIoctlRequestMask, TIOCSTI}},
      {"ioctl", "request == TIOCLINUX", EPERM,
       "virtual console control (selection paste is another input injection)",
       SeccompArgMatch{1, kIoctlRequestMask, TIOCLINUX}},
  };
  add_clone_namespace_rules(rules);
  return rules;
}

struct FilterCtxDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using FilterCtx = std::unique_ptr<void, FilterCtxDeleter>;

}  // namespace

const std::vector<SeccompRule>& function_seccomp_rules() {
  static const std::vector<SeccompRule> rules = make_rules();
  return rules;
}

Result<SeccompProgram> build_function_seccomp_program() {
  FilterCtx ctx(seccomp_init(SCMP_ACT_ALLOW));
  if (!ctx) return fail("seccomp_init", ENOMEM);
  // Raw kernel errnos from libseccomp rather than its generic -ECANCELED/-EINVAL.
  if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_API_SYSRAWRC, 1); rc != 0)
    return fail("seccomp_attr_set SYSRAWRC", -rc);
  // The filter is exported and installed by us, never loaded by libseccomp; the sandbox init sets
  // no_new_privs itself.
  if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0); rc != 0)
    return fail("seccomp_attr_set CTL_NNP", -rc);
  // i386 (int 0x80) and x32 entry points: none of our runtimes use them, and a filter written for
  // x86_64 numbers would not mean the same there.
  if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS); rc != 0)
    return fail("seccomp_attr_set ACT_BADARCH", -rc);
  // Binary search over syscall numbers instead of a linear chain: fewer instructions run for
  // every allowed system call.
  if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2); rc != 0)
    return fail("seccomp_attr_set CTL_OPTIMIZE", -rc);

  for (const SeccompRule& rule : function_seccomp_rules()) {
    int nr = seccomp_syscall_resolve_name(rule.syscall.c_str());
    if (nr == __NR_SCMP_ERROR) return fail("seccomp resolve", EINVAL, rule.syscall);
    int rc;
    if (rule.match) {
      scmp_arg_cmp cmp{rule.match->index, SCMP_CMP_MASKED_EQ, rule.match->mask, rule.match->value};
      rc = seccomp_rule_add_array(ctx.get(), SCMP_ACT_ERRNO(rule.errno_value), nr, 1, &cmp);
    } else {
      rc = seccomp_rule_add_array(ctx.get(), SCMP_ACT_ERRNO(rule.errno_value), nr, 0, nullptr);
    }
    if (rc != 0) return fail("seccomp_rule_add", -rc, rule.syscall + " " + rule.condition);
  }

  // libseccomp 2.5 exports only to a file descriptor: a memfd keeps it off any filesystem.
  UniqueFd memfd(::memfd_create("seccomp-bpf", MFD_CLOEXEC));
  if (!memfd) return fail("memfd_create", errno);
  if (int rc = seccomp_export_bpf(ctx.get(), memfd.get()); rc != 0)
    return fail("seccomp_export_bpf", -rc);
  struct stat st {};
  if (::fstat(memfd.get(), &st) != 0) return fail("fstat seccomp memfd", errno);
  auto size = static_cast<size_t>(st.st_size);
  if (size == 0 || size % sizeof(sock_filter) != 0 || size / sizeof(sock_filter) > BPF_MAXINSNS)
    return fail("seccomp_export_bpf", EINVAL, "program of " + std::to_string(size) + " bytes");

  SeccompProgram program;
  program.instructions.resize(size / sizeof(sock_filter));
  auto* out = reinterpret_cast<char*>(program.instructions.data());
  for (size_t done = 0; done < size;) {
    ssize_t n = ::pread(memfd.get(), out + done, size - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("read seccomp memfd", n < 0 ? errno : EIO);
    done += static_cast<size_t>(n);
  }
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
