// The boundary between the controller and the kernel: an execution environment the controller
// launches a runtime in, and the factory it takes prepared ones from. The daemon plugs in
// SandboxEnvironmentFactory (namespaces, cgroups, /tmp); the controller's unit tests plug in a fake
// whose "runtime" is a thread speaking the Runtime API, as RIE's tests fake its interop boundary.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>

#include "sandbox/environment.hpp"
#include "sandbox/error.hpp"
#include "sandbox/unique_fd.hpp"

namespace runtimed {

class ExecutionEnvironment {
 public:
  virtual ~ExecutionEnvironment() = default;

  // The listening socket the runtime reaches as AWS_LAMBDA_RUNTIME_API (once).
  virtual sandbox::UniqueFd take_runtime_api_fd() = 0;
  // Starts the runtime. Once per environment.
  virtual sandbox::Result<void> launch(const sandbox::LaunchSpec& spec) = 0;
  // Readable (for epoll) once the runtime has ended.
  virtual int exit_notify_fd() const = 0;
  // Blocks until the runtime ends. Idempotent.
  virtual sandbox::ExitStatus wait_exit() = 0;
  // SIGTERM to the runtime: Lambda's shutdown phase.
  virtual void terminate() = 0;
  // Ends every process of the environment at once.
  virtual void kill() = 0;
  virtual sandbox::Result<void> freeze() = 0;
  virtual sandbox::Result<void> thaw() = 0;
  // The most memory the environment has used, for REPORT's Max Memory Used.
  virtual uint64_t memory_peak_bytes() const = 0;
  // A stem's output pipe (its runtime already writes to it): the invocation log reads it. Invalid
  // for an environment whose runtime launch() starts.
  virtual sandbox::UniqueFd take_stem_output() { return {}; }
};

class EnvironmentFactory {
 public:
  virtual ~EnvironmentFactory() = default;

  // A prepared environment whose /tmp holds `tmp_mb`, on the host's network when `network` is
  // asked for and the host has one (else with loopback only).
  virtual sandbox::Result<std::unique_ptr<ExecutionEnvironment>> take(uint64_t tmp_mb,
                                                                      bool network) = 0;
  // An environment whose `language` runtime already runs and waits for its function (a stem
  // cell, see StemPool), or null: none ready, or none of this /tmp size and network.
  virtual std::unique_ptr<ExecutionEnvironment> take_stem(const std::string& /*language*/,
                                                          uint64_t /*tmp_mb*/, bool /*network*/) {
    return nullptr;
  }
  // Environments prepared ahead of demand.
  virtual size_t ready_count() = 0;
  // Stems ready, of every language.
  virtual size_t stem_count() { return 0; }
  // Stops preparing ahead and releases what was prepared.
  virtual void stop() = 0;
  // The directory environments' /tmp disks live in (the disk budget measures its filesystem).
  virtual std::filesystem::path disk_dir() const = 0;
};

}  // namespace runtimed
