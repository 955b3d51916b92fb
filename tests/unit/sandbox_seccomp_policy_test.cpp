// Unit tests of the function seccomp policy: its rule table and the BPF program built from it
// (what the program answers is tested by running it: tests/integration/sandbox_seccomp_test.cpp).
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

TEST(SeccompPolicy, EveryRuleHasAReasonAndAnErrnoAndConditionsOnlyOnCheckedSyscalls) {
  const auto& checked = function_seccomp_argument_checked();
  for (const SeccompRule& rule : function_seccomp_rules()) {
    EXPECT_FALSE(rule.reason.empty()) << rule.syscall;
    EXPECT_GT(rule.errno_value, 0) << rule.syscall;
    // A condition in words must be one the filter implements: only the argument-checked system
    // calls have check blocks.
    const bool is_checked =
        std::find(checked.begin(), checked.end(), rule.syscall) != checked.end();
    EXPECT_EQ(!rule.condition.empty(), is_checked) << rule.syscall;
  }
}

TEST(SeccompPolicy, Clone3IsAnsweredEnosysSoGlibcFallsBackToClone) {
  const auto& rules = function_seccomp_rules();
  auto it = std::find_if(rules.begin(), rules.end(),
                         [](const SeccompRule& rule) { return rule.syscall == "clone3"; });
  ASSERT_NE(it, rules.end());
  EXPECT_EQ(it->errno_value, ENOSYS);
  EXPECT_TRUE(it->condition.empty());
}

TEST(SeccompPolicy, NothingIsBothAllowedAndRefused) {
  const auto& allowed = function_seccomp_allowed();
  const std::set<std::string> allow(allowed.begin(), allowed.end());
  EXPECT_EQ(allow.size(), allowed.size()) << "duplicates in the allow-list";
  for (const SeccompRule& rule : function_seccomp_rules())
    EXPECT_FALSE(allow.contains(rule.syscall)) << rule.syscall;
  for (const std::string& name : function_seccomp_argument_checked())
    EXPECT_FALSE(allow.contains(name)) << name;
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
                           "mount_setattr",
                           "io_uring_setup",
                           "io_uring_enter",
                           "io_uring_register",
                           "name_to_handle_at",
                           "modify_ldt",
                           "fanotify_init",
                           "fanotify_mark",
                           "memfd_secret",
                           "pidfd_getfd",
                           "kcmp"}) {
    EXPECT_TRUE(refuses(name)) << name;
  }
}

TEST(SeccompPolicy, LeavesWhatLanguageRuntimesUseAlone) {
  const auto& allowed = function_seccomp_allowed();
  for (const char* name : {"execve", "mmap", "mprotect", "futex", "epoll_wait", "prctl", "seccomp",
                           "wait4", "rseq", "membarrier", "getrandom", "statx", "pidfd_open"}) {
    EXPECT_FALSE(refuses(name)) << name;
    EXPECT_NE(std::find(allowed.begin(), allowed.end(), name), allowed.end()) << name;
  }
}

}  // namespace
}  // namespace sandbox
