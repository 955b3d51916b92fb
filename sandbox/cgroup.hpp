// One interface over cgroup v1 and v2: a per-daemon-instance subtree and one cgroup per
// environment.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "sandbox/error.hpp"

namespace sandbox {

// Limits written when an environment is launched.
struct CgroupLimits {
  uint64_t memory_mb = 128;  // memory limit; swap is turned off
  uint32_t pids_max = 1024;  // as Lambda
  bool cpu_quota = false;    // a hard CFS quota of memory_mb/1769 CPUs (off by default)
};

// One mounted hierarchy and where this process sits in it.
struct Hierarchy {
  std::filesystem::path mount_point;  // e.g. /sys/fs/cgroup/memory
  std::string own_path;               // this process's cgroup in it, e.g. "/process_api/abc"
};

// What the host offers, read from /proc/self/mountinfo and /proc/self/cgroup (or built by tests
// over a fake tree in a temp dir).
struct CgroupHost {
  std::map<std::string, Hierarchy>
      v1;  // controller name ("memory", "cpu", "pids", "freezer") -> hierarchy
  std::optional<Hierarchy> unified;  // the cgroup2 mount, if any
  // True when the cgroup2 mount carries the controllers (a v2 host); false on v1 hosts, where it
  // is only used for cgroup.freeze and cgroup.kill when present.
  bool unified_has_controllers = false;
  // Tests only: the mount points are plain directories in a temp dir, not cgroupfs. Control files
  // are then created on write (the kernel is not there to create them on mkdir), no signal is sent
  // to any pid read from a cgroup.procs, nothing waits for the kernel (frozen, empty) and
  // directories are removed with their files.
  bool fake_tree = false;

  static Result<CgroupHost> detect();
  static Result<CgroupHost> parse(std::string_view mountinfo, std::string_view proc_self_cgroup);

  // This process's memory limit: the lowest of its memory cgroup's and its ancestors' (v1
  // memory.limit_in_bytes, v2 memory.max), or nullopt when none is set or readable.
  std::optional<uint64_t> memory_limit_bytes() const;
};

enum class CgroupVersion { V1, V2 };

// One execution environment's cgroup(s). Move-only RAII owner: the destructor kills every process
// in it, waits until it is empty and removes the directories.
class EnvironmentCgroup {
 public:
  virtual ~EnvironmentCgroup() = default;
  virtual const std::string& name() const = 0;
  // Moves `pid` into the cgroup in every hierarchy.
  virtual Result<void> attach(pid_t pid) = 0;
  virtual Result<void> apply(const CgroupLimits& limits) = 0;
  virtual Result<void> freeze() = 0;
  virtual Result<void> thaw() = 0;
  // SIGKILLs every process in the cgroup (thawing first where that is needed to let them die).
  virtual Result<void> kill_all() = 0;
  virtual uint64_t memory_peak_bytes() const = 0;
  virtual uint64_t memory_current_bytes() const = 0;
  // How many times the kernel's OOM killer killed a process of this cgroup.
  virtual uint64_t oom_kill_count() const = 0;
  virtual bool populated() const = 0;
  // kill_all, wait for empty, rmdir everywhere. Idempotent; the destructor calls it.
  virtual Result<void> destroy() = 0;
  // The cgroup2 directory (for clone3 CLONE_INTO_CGROUP on v2 hosts); empty if none.
  virtual std::filesystem::path unified_dir() const = 0;
};

// Owns `<parent>/<instance-id>/` in every hierarchy for one daemon instance and creates the
// environment cgroups under it.
class CgroupManager {
 public:
  struct Options {
    // Relative to this process's own cgroup ("runtimed" by default); an absolute one ("/x/y")
    // is taken from the hierarchy's root.
    std::string parent = "runtimed";
    std::string instance_id;  // directory name of this instance's subtree
    // Lock file of this instance (flock held for the instance's life) and where owners are
    // recorded so leftovers of dead instances can be told apart from live ones.
    std::filesystem::path state_dir;
    // One file per instance id holding its state_dir: the owner whose lock tells whether the
    // instance subtree of that id is still in use.
    std::filesystem::path owners_dir = "/run/runtimed/cgroup-owners";
  };
  // Destroys the instance subtree (killing whatever is still in it) and the owner record;
  // destroy the EnvironmentCgroups first.
  virtual ~CgroupManager() = default;
  // Takes <state_dir>/lock, removes leftovers of dead instances under <parent>, creates
  // <parent>/<instance-id> in every hierarchy (v2: after moving this process into
  // <own>/supervisor and enabling +memory +cpu +pids down to the instance).
  static Result<std::unique_ptr<CgroupManager>> open(const CgroupHost& host, Options options);
  virtual CgroupVersion version() const = 0;
  virtual Result<std::unique_ptr<EnvironmentCgroup>> create(std::string_view env_name) = 0;
};

// AWS's ratio: 1,769 MB of memory = one vCPU.
inline constexpr uint64_t kMegabytesPerVcpu = 1769;
uint64_t cpu_shares_for_memory(uint64_t memory_mb);  // v1: round(1024*M/1769), at least 2
uint64_t cpu_weight_for_memory(uint64_t memory_mb);  // v2: clamp(round(100*M/1769), 1, 10000)
// The environments' subtree: the weight of `cpus` plain threads (v1 1024 each, v2 100 each).
uint64_t workload_cpu_shares(uint64_t cpus);
uint64_t workload_cpu_weight(uint64_t cpus);
struct CfsQuota {
  int64_t quota_us;
  int64_t period_us;
};
CfsQuota cpu_quota_for_memory(uint64_t memory_mb);  // period 100 ms, quota M/1769 of it

}  // namespace sandbox
