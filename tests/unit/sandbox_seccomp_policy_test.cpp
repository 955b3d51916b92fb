// Unit tests of the function seccomp policy: its rule table and the BPF program built from it.
#include <gtest/gtest.h>
#include <sched.h>
#include <seccomp.h>

#include <algorithm>
#include <cerrno>
#include <set>
#include <string>

#include "sandbox/seccomp_policy.hpp"

namespace sandbox {
namespace {

bool refuses(const std::string& syscall) {
  const auto& rules = function_seccomp_rules();
  return std::any_of(rules.begin(), rules.end(),
                     [&](const SeccompRule& rule) { return rule.syscall == syscall; });
}

TEST(SeccompPolicy, ProgramBuildsNonEmptyAndWithinTheKernelsLimit) {
  auto program = build_function_seccomp_program();
  ASSERT_TRUE(program.has_value()) << program.error().to_string();
  EXPECT_GT(program->instructions.size(), function_seccomp_rules().size());
  EXPECT_LE(program->instructions.size(), static_cast<size_t>(BPF_MAXINSNS));
  // Every filter ends in a return: the last instruction is BPF_RET.
  EXPECT_EQ(BPF_CLASS(program->instructions.back().code), BPF_RET);
}

TEST(SeccompPolicy, EveryRuleNamesASyscallOfTheNativeArchitecture) {
  for (const SeccompRule& rule : function_seccomp_rules()) {
    // Negative numbers are libseccomp's pseudo-syscalls: names known elsewhere but absent here,
    // which would compile to nothing.
    EXPECT_GE(seccomp_syscall_resolve_name_arch(SCMP_ARCH_NATIVE, rule.syscall.c_str()), 0)
        << rule.syscall;
  }
}

TEST(SeccompPolicy, EveryRuleHasAReasonAndAnErrnoAndItsConditionIsEnforced) {
  for (const SeccompRule& rule : function_seccomp_rules()) {
    EXPECT_FALSE(rule.reason.empty()) << rule.syscall;
    EXPECT_TRUE(rule.errno_value == EPERM || rule.errno_value == ENOSYS) << rule.syscall;
    // A condition in words must come with the argument test that implements it, and vice versa.
    EXPECT_EQ(rule.condition.empty(), !rule.match.has_value()) << rule.syscall;
    if (rule.match) {
      EXPECT_LT(rule.match->index, 6u) << rule.syscall;
    }
  }
}

TEST(SeccompPolicy, Clone3IsAnsweredEnosysSoGlibcFallsBackToClone) {
  const auto& rules = function_seccomp_rules();
  auto it = std::find_if(rules.begin(), rules.end(),
                         [](const SeccompRule& rule) { return rule.syscall == "clone3"; });
  ASSERT_NE(it, rules.end());
  EXPECT_EQ(it->errno_value, ENOSYS);
  EXPECT_FALSE(it->match.has_value());
}

TEST(SeccompPolicy, CloneIsRefusedOnlyForEachNamespaceFlag) {
  std::set<uint64_t> bits;
  for (const SeccompRule& rule : function_seccomp_rules()) {
    if (rule.syscall != "clone") continue;
    ASSERT_TRUE(rule.match.has_value()) << "an unconditional clone rule would break fork";
    EXPECT_EQ(rule.match->index, 0u);  // flags: arg0 on x86_64 and aarch64
    EXPECT_EQ(rule.match->mask, rule.match->value);
    bits.insert(rule.match->mask);
  }
  EXPECT_EQ(bits, (std::set<uint64_t>{CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER,
                                      CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP}));
}

TEST(SeccompPolicy, IoctlRulesCompareOnlyTheLow32BitsOfTheRequest) {
  int ioctl_rules = 0;
  for (const SeccompRule& rule : function_seccomp_rules()) {
    if (rule.syscall != "ioctl") continue;
    ++ioctl_rules;
    ASSERT_TRUE(rule.match.has_value());
    EXPECT_EQ(rule.match->index, 1u);
    EXPECT_EQ(rule.match->mask, 0xffffffffu);  // the kernel truncates the request to an int
  }
  EXPECT_EQ(ioctl_rules, 2);  // TIOCSTI, TIOCLINUX; any other ioctl stays allowed
}

TEST(SeccompPolicy, RefusesTheSyscallsAFunctionNeverNeeds) {
  for (const char* name : {"mount",
                           "umount2",
                           "pivot_root",
                           "ptrace",
                           "process_vm_readv",
                           "process_vm_writev",
                           "reboot",
                           "kexec_load",
                           "kexec_file_load",
                           "init_module",
                           "finit_module",
                           "delete_module",
                           "bpf",
                           "perf_event_open",
                           "unshare",
                           "setns",
                           "keyctl",
                           "add_key",
                           "request_key",
                           "swapon",
                           "swapoff",
                           "settimeofday",
                           "clock_settime",
                           "clock_adjtime",
                           "adjtimex",
                           "iopl",
                           "ioperm",
                           "userfaultfd",
                           "open_by_handle_at",
                           "quotactl",
                           "acct",
                           "lookup_dcookie",
                           "fsopen",
                           "fsconfig",
                           "fsmount",
                           "fspick",
                           "move_mount",
                           "open_tree",
                           "mount_setattr"}) {
    EXPECT_TRUE(refuses(name)) << name;
  }
}

TEST(SeccompPolicy, LeavesWhatLanguageRuntimesUseAlone) {
  for (const char* name : {"execve", "mmap", "mprotect", "futex", "epoll_wait", "io_uring_setup",
                           "prctl", "seccomp", "chroot", "name_to_handle_at", "socket", "wait4"}) {
    EXPECT_FALSE(refuses(name)) << name;
  }
}

}  // namespace
}  // namespace sandbox
