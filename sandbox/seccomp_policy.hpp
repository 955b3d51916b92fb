// The seccomp filter every function runs under: default-deny, generated once by libseccomp from
// the allow-list and refusal table below and exported as classic BPF, installed by the sandbox
// init with a single prctl() in the child (no allocation there).
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <string>
#include <vector>

#include "sandbox/error.hpp"

namespace sandbox {

struct SeccompProgram {
  std::vector<sock_filter> instructions;
};

// A system call, or an argument pattern of one, that the filter answers with an errno, and why,
// for docs/ and tests. A rule with a condition is the refused side of an argument check: the
// rest of that system call's calls are allowed (see function_seccomp_argument_checked()).
struct SeccompRule {
  std::string syscall;
  std::string condition;  // empty, or e.g. "flags & CLONE_NEW*", "family not in {...}"
  int errno_value;        // EPERM, EAFNOSUPPORT, ... or ENOSYS (as an unknown system call)
  std::string reason;
};

// Refused system calls with their answer. Anything neither here nor allowed answers ENOSYS.
const std::vector<SeccompRule>& function_seccomp_rules();

// Allowed unconditionally (names of any architecture; those the native one lacks are skipped).
const std::vector<std::string>& function_seccomp_allowed();

// Allowed only when their arguments pass a check: clone, ioctl, personality, socket, socketpair.
const std::vector<std::string>& function_seccomp_argument_checked();

// Default-deny: allowed system calls pass, the rules answer their errno, every other system call
// number (unknown, newer than this table, or simply not needed) answers ENOSYS so runtimes fall
// back; a system call from a non-native ABI (i386 int 0x80, x32) kills the process.
Result<SeccompProgram> build_function_seccomp_program();

// Installs `program` on the calling thread (PR_SET_NO_NEW_PRIVS must already be set). Only system
// calls: safe between clone and exec. Returns 0, or the errno of the failed prctl().
int install_seccomp_program(const SeccompProgram& program);

}  // namespace sandbox
