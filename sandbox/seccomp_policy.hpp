// The seccomp filter every function runs under: compiled once with libseccomp, installed by the
// sandbox init with a single prctl() in the child (no allocation there).
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sandbox/error.hpp"

namespace sandbox {

struct SeccompProgram {
  std::vector<sock_filter> instructions;
};

// The argument test of a conditional rule: (arg[index] & mask) == value.
struct SeccompArgMatch {
  unsigned index;
  uint64_t mask;
  uint64_t value;
};

// One refused system call (or argument pattern) and why, for docs/ and tests.
struct SeccompRule {
  std::string syscall;
  std::string condition;  // empty, or e.g. "flags & CLONE_NEW*", "request == TIOCSTI"
  int errno_value;        // EPERM, or ENOSYS for clone3
  std::string reason;
  std::optional<SeccompArgMatch> match = {};  // what `condition` says, for the filter
};

const std::vector<SeccompRule>& function_seccomp_rules();

// Default allow; each rule of function_seccomp_rules() answers with its errno; a system call from a
// non-native ABI (i386 int 0x80, x32) kills the process.
Result<SeccompProgram> build_function_seccomp_program();

// Installs `program` on the calling thread (PR_SET_NO_NEW_PRIVS must already be set). Only system
// calls: safe between clone and exec. Returns 0, or the errno of the failed prctl().
int install_seccomp_program(const SeccompProgram& program);

}  // namespace sandbox
