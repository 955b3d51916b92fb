// Everything environments of one daemon instance share: the cgroup subtree, the compiled seccomp
// filter, the uid pool, the filesystem-view settings, and the spawn thread. prepare() makes
// environments.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "sandbox/cgroup.hpp"
#include "sandbox/environment.hpp"
#include "sandbox/error.hpp"
#include "sandbox/network_host.hpp"
#include "sandbox/scratch_disk.hpp"
#include "sandbox/seccomp_policy.hpp"
#include "sandbox/spawn_thread.hpp"
#include "sandbox/uid_pool.hpp"

namespace sandbox {

struct SandboxOptions {
  std::filesystem::path state_dir;  // holds lock, envs/ (roots, /tmp images)
  std::string cgroup_parent = "runtimed";
  std::filesystem::path init_path;  // the runtimed-init binary
  // Each environment's runtime runs as its own uid (gid of the same number) from this range, so
  // per-user kernel limits are per environment. Far above login users (1000..60000), systemd's
  // dynamic users and the 100000+ blocks useradd hands out in /etc/subuid, below 2^31.
  UidRange uids{2000000000, 65536};
  // One lock file per uid in use, shared by every runtimed on the host.
  std::filesystem::path uid_lock_dir = "/run/runtimed/uids";
  bool cpu_quota = false;
  ScratchDisk::Kind tmp_kind = ScratchDisk::Kind::LoopExt4;
  bool seccomp = true;
  // /tmp images copied from a formatted template per size (false: mkfs.ext4 for each; the
  // benchmark's baseline).
  bool disk_templates = true;
  // Environments prepared with PrepareOptions::network get an eth0 on this bridge; unset, every
  // environment has only `lo`.
  std::optional<NetworkOptions> network;
};

class SandboxHost {
 public:
  static Result<std::unique_ptr<SandboxHost>> open(SandboxOptions options);
  ~SandboxHost();

  // Off the request path: a ready-to-launch environment.
  Result<std::unique_ptr<Environment>> prepare(const PrepareOptions& options);

  const SandboxOptions& options() const { return options_; }
  const SeccompProgram& seccomp_program() const { return seccomp_; }
  CgroupManager& cgroups() { return *cgroups_; }
  // The bridge and its ruleset, when SandboxOptions::network was set.
  NetworkHost* network() { return network_.get(); }

 private:
  SandboxHost() = default;
  Result<std::unique_ptr<Environment>> prepare_on_spawn_thread(const PrepareOptions& options);

  SandboxOptions options_;
  std::unique_ptr<CgroupManager> cgroups_;
  std::unique_ptr<UidPool> uids_;
  std::unique_ptr<NetworkHost> network_;
  SeccompProgram seccomp_;
  std::unique_ptr<SpawnThread> spawner_;
};

// A stable instance id for a state directory (names the cgroup subtree).
std::string instance_id_for(const std::filesystem::path& state_dir);

}  // namespace sandbox
