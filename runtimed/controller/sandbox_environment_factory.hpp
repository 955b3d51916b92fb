// The controller's environments as the sandbox library makes them: prepared ahead by an
// EnvironmentPool, each a sandbox::Environment (cgroup, namespaces, /tmp, runtimed-init).
#pragma once

#include <map>
#include <string>

#include "runtimed/controller/environment_pool.hpp"
#include "runtimed/controller/execution_environment.hpp"
#include "runtimed/controller/stem_pool.hpp"
#include "sandbox/sandbox_host.hpp"

namespace runtimed {

class SandboxEnvironmentFactory final : public EnvironmentFactory {
 public:
  // Keeps `prepared` environments with a /tmp of `prepared_tmp_mb` ready, networked when the
  // host has a network.
  // Keeps `stems_per_language` stems of each of `stems` (by language) in such environments.
  SandboxEnvironmentFactory(sandbox::SandboxHost& host, size_t prepared, uint64_t prepared_tmp_mb,
                            std::map<std::string, sandbox::StemSpec> stems = {},
                            size_t stems_per_language = 0);

  sandbox::Result<std::unique_ptr<ExecutionEnvironment>> take(uint64_t tmp_mb,
                                                              bool network) override;
  std::unique_ptr<ExecutionEnvironment> take_stem(const std::string& language, uint64_t tmp_mb,
                                                  bool network) override;
  size_t ready_count() override { return pool_.ready_count(); }
  size_t stem_count() override { return stems_.ready_count(); }
  void stop() override {
    stems_.stop();
    pool_.stop();
  }
  std::filesystem::path disk_dir() const override;

 private:
  sandbox::SandboxHost& host_;
  EnvironmentPool pool_;
  StemPool stems_;
};

}  // namespace runtimed
