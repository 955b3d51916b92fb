// `runtimed sandbox`: runs one command inside one execution environment, exactly as a function
// would get it, and returns its exit status.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace runtimed {

struct SandboxCommandOptions {
  uint64_t memory_mb = 128;
  uint64_t tmp_mb = 512;
  uint32_t pids = 1024;
  std::string code_dir;  // empty: an empty /var/task
  bool cpu_quota = false;
  bool tmpfs_tmp = false;
  std::string cgroup_parent = "runtimed";
  std::string state_dir;  // empty: a fresh temporary one
  std::vector<std::string> env;
  std::vector<std::string> command;
};

// Returns the command's exit status (128+signal when killed), or 125 when the sandbox failed.
int run_sandbox_command(const SandboxCommandOptions& options);

}  // namespace runtimed
