// SandboxEnvironmentFactory (see sandbox_environment_factory.hpp).
#include "runtimed/controller/sandbox_environment_factory.hpp"

namespace runtimed {

namespace {

// One sandbox::Environment behind the controller's interface.
class SandboxEnvironment final : public ExecutionEnvironment {
 public:
  explicit SandboxEnvironment(std::unique_ptr<sandbox::Environment> env) : env_(std::move(env)) {}

  sandbox::UniqueFd take_runtime_api_fd() override { return env_->take_runtime_api_fd(); }
  sandbox::Result<void> launch(const sandbox::LaunchSpec& spec) override {
    return env_->launch(spec);
  }
  int exit_notify_fd() const override { return env_->exit_notify_fd(); }
  sandbox::ExitStatus wait_exit() override { return env_->wait_exit(); }
  void terminate() override { env_->terminate(); }
  void kill() override { env_->kill(); }
  sandbox::Result<void> freeze() override { return env_->freeze(); }
  sandbox::Result<void> thaw() override { return env_->thaw(); }
  uint64_t memory_peak_bytes() const override { return env_->cgroup().memory_peak_bytes(); }
  sandbox::UniqueFd take_stem_output() override { return env_->take_stem_output(); }

 private:
  std::unique_ptr<sandbox::Environment> env_;
};

}  // namespace

SandboxEnvironmentFactory::SandboxEnvironmentFactory(sandbox::SandboxHost& host, size_t prepared,
                                                     uint64_t prepared_tmp_mb,
                                                     std::map<std::string, sandbox::StemSpec> stems,
                                                     size_t stems_per_language)
    : host_(host),
      pool_(host, prepared, sandbox::PrepareOptions{prepared_tmp_mb, host.network() != nullptr}),
      stems_(host, sandbox::PrepareOptions{prepared_tmp_mb, host.network() != nullptr},
             std::move(stems), stems_per_language) {}

std::unique_ptr<ExecutionEnvironment> SandboxEnvironmentFactory::take_stem(
    const std::string& language, uint64_t tmp_mb, bool network) {
  auto stem =
      stems_.take(language, sandbox::PrepareOptions{tmp_mb, network && host_.network() != nullptr});
  if (!stem) return nullptr;
  return std::make_unique<SandboxEnvironment>(std::move(stem));
}

sandbox::Result<std::unique_ptr<ExecutionEnvironment>> SandboxEnvironmentFactory::take(
    uint64_t tmp_mb, bool network) {
  auto env = pool_.take(sandbox::PrepareOptions{tmp_mb, network && host_.network() != nullptr});
  if (!env) return std::unexpected(env.error());
  return std::make_unique<SandboxEnvironment>(std::move(*env));
}

std::filesystem::path SandboxEnvironmentFactory::disk_dir() const {
  return host_.options().state_dir / "envs";
}

}  // namespace runtimed
