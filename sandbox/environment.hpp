// One execution environment: prepared off the request path (cgroup, net namespace with the Runtime
// API socket, /tmp, and runtimed-init already inside its namespaces and cgroups), then launched
// on the request path (limits, code, runtime process). Move-only RAII owner of all of it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sandbox/cgroup.hpp"
#include "sandbox/child_process.hpp"
#include "sandbox/error.hpp"
#include "sandbox/ipv4_network.hpp"
#include "sandbox/net_namespace.hpp"
#include "sandbox/scratch_disk.hpp"
#include "sandbox/uid_pool.hpp"
#include "sandbox/unique_fd.hpp"

namespace sandbox {

class SandboxHost;

struct PrepareOptions {
  uint64_t tmp_mb = 512;  // EphemeralStorage
  // An eth0 on the host's bridge (SandboxOptions::network); false leaves only `lo`.
  bool network = false;
  bool operator==(const PrepareOptions&) const = default;
};

// One setrlimit() of the runtime process.
struct ResourceLimit {
  int resource;  // RLIMIT_*
  uint64_t soft;
  uint64_t hard;
};

// The limits a Lambda function runs with (open files 1024, processes 1024 for its user, which is
// the environment's own, no core dumps), every one set explicitly rather than inherited from
// whoever started the daemon. docs/ARCHITECTURE.md "launch".
std::vector<ResourceLimit> lambda_rlimits();

struct LaunchSpec {
  std::filesystem::path code_dir;     // host directory bound read-only at /var/task
  std::filesystem::path runtime_dir;  // host directory bound read-only at /var/runtime (optional)
  std::filesystem::path opt_dir;      // host directory bound read-only at /opt (optional: layers)
  std::vector<std::string> argv;      // argv[0] is a path inside the sandbox
  std::vector<std::string> env;       // "KEY=VALUE"
  std::string cwd = "/var/task";
  std::string hostname = "localhost";
  CgroupLimits limits;
  std::vector<ResourceLimit> rlimits = lambda_rlimits();
  int stdin_fd = -1;  // -1: /dev/null
  int stdout_fd = 1;
  int stderr_fd = 2;
};

// A runtime started before its function is chosen (a stem cell, as OpenWhisk's prewarmed
// containers): the interpreter and its bootstrap load while the environment waits in a pool, and
// launch() later binds the function's code and hands the environment to the waiting runtime.
struct StemSpec {
  std::filesystem::path runtime_dir;  // bound read-only at /var/runtime
  std::vector<std::string> argv;
  std::vector<std::string> env;  // the runtime's own, until its function's replaces it
  std::vector<ResourceLimit> rlimits = lambda_rlimits();
};

// How the runtime ended.
struct ExitStatus {
  enum class Kind {
    Exited,       // code
    Signaled,     // signal
    OutOfMemory,  // killed by the memory cgroup's OOM killer
    SetupFailed,  // setup_error says which step and errno
    Vanished,     // the init died without reporting (killed from outside)
  };
  Kind kind = Kind::Exited;
  int code = 0;
  int signal = 0;
  Error setup_error;

  // 0..255 for an exit, 128+signal when killed (as a shell reports it).
  int shell_status() const;
  std::string describe() const;
};

class Environment {
 public:
  ~Environment();
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;

  const std::string& name() const { return name_; }
  // The listening socket at 127.0.0.1:9001 inside the environment (until taken).
  int runtime_api_fd() const { return net_.listen_fd(); }
  UniqueFd take_runtime_api_fd() { return net_.take_listen_fd(); }

  // Writes the limits, binds the code, starts the runtime. Once per environment. After
  // start_stem, hands the stem its function instead: spec.argv, cwd, rlimits and stdio are the
  // stem's (the runtime is already running); code_dir, opt_dir, env, hostname and limits apply.
  Result<void> launch(const LaunchSpec& spec);
  // Starts a stem runtime (see StemSpec), its stdout and stderr going to a pipe this environment
  // makes (take_stem_output). Before launch, once.
  Result<void> start_stem(const StemSpec& spec);
  bool has_stem() const { return stem_started_; }
  // False once the stem has ended (its init reported or went away): such an environment can only
  // be discarded.
  bool stem_alive() const;
  // The read end of the stem's output pipe (until taken).
  UniqueFd take_stem_output() { return std::move(stem_output_); }

  // Readable (for poll/epoll) when the runtime has ended or the init died.
  int exit_notify_fd() const { return control_.get(); }
  // Blocks until the runtime ends. Idempotent.
  ExitStatus wait_exit();
  // SIGTERM to the runtime (the init forwards it).
  void terminate();
  // SIGKILL everything in the environment (the runtime, its children, the init).
  void kill();
  Result<void> freeze() { return cgroup_->freeze(); }
  Result<void> thaw() { return cgroup_->thaw(); }
  EnvironmentCgroup& cgroup() { return *cgroup_; }
  pid_t init_pid() const { return init_.pid(); }
  // The environment's own uid and gid (same number), from SandboxOptions::uids.
  uid_t uid() const { return uid_.uid(); }
  gid_t gid() const { return uid_.gid(); }
  bool launched() const { return launched_; }
  // eth0's address (host byte order), 0 when the environment has only `lo`.
  uint32_t address() const { return address_.address(); }

  // Time spent in prepare(), for benchmarks.
  std::chrono::nanoseconds prepare_duration() const { return prepare_duration_; }

 private:
  friend class SandboxHost;
  Environment() = default;

  // Owned directory <state>/envs/<name>, removed last.
  struct OwnedDir {
    std::filesystem::path path;
    OwnedDir() = default;
    OwnedDir(OwnedDir&& o) noexcept : path(std::exchange(o.path, {})) {}
    ~OwnedDir();
  };

  std::string name_;
  const SandboxHost* host_ = nullptr;
  // Declared in the order they are built; destroyed in reverse: init first, directory last.
  OwnedDir dir_;
  UidLease uid_;  // given back after every process of the environment is gone
  std::optional<ScratchDisk> scratch_;
  Ipv4Lease address_;  // given back after the namespace (and with it the veth) is gone
  NetNamespace net_;
  std::unique_ptr<EnvironmentCgroup> cgroup_;
  UniqueFd control_;
  ChildProcess init_;
  bool launched_ = false;
  bool stem_started_ = false;
  UniqueFd stem_output_;
  uint64_t oom_kills_at_launch_ = 0;
  std::optional<ExitStatus> exit_;
  std::chrono::nanoseconds prepare_duration_{0};
};

}  // namespace sandbox
