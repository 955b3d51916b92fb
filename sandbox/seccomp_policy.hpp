// The seccomp filter every function runs under: compiled once with libseccomp, installed by the
// sandbox init with a single prctl() in the child (no allocation there).
#pragma once

#include <linux/filter.h>

#include <string>
#include <vector>

#include "sandbox/error.hpp"

namespace sandbox {

struct SeccompProgram {
  std::vector<sock_filter> instructions;
};

// One refused system call (or argument pattern) and why, for docs/ and tests.
struct SeccompRule {
  std::string syscall;
  std::string condition;  // empty, or e.g. "flags & CLONE_NEW*", "request == TIOCSTI"
  int errno_value;        // EPERM, or ENOSYS for clone3
  std::string reason;
};

const std::vector<SeccompRule>& function_seccomp_rules();
Result<SeccompProgram> build_function_seccomp_program();

// Installs `program` on the calling thread (PR_SET_NO_NEW_PRIVS must already be set). Only system
// calls: safe between clone and exec.
int install_seccomp_program(const SeccompProgram& program);

}  // namespace sandbox
