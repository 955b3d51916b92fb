// Builds a function's launch spec (see function_launch.hpp).
#include "runtimed/function_launch.hpp"

#include <unistd.h>

#include <chrono>
#include <ctime>

#include "common/ids.hpp"

namespace runtimed {

std::string function_arn(const HostIdentity& host, const std::string& name) {
  return "arn:aws:lambda:" + host.region + ":" + host.account_id + ":function:" + name;
}

std::string new_log_stream_name() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  char date[16];
  std::strftime(date, sizeof date, "%Y/%m/%d", &utc);
  return std::string(date) + "/[$LATEST]" + common::random_hex(32);
}

std::vector<std::string> lambda_environment(const common::FunctionConfig& config,
                                            const HostIdentity& host,
                                            const std::string& log_stream) {
  std::vector<std::string> env = {
      "AWS_LAMBDA_FUNCTION_NAME=" + config.name,
      "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + std::to_string(config.memory_mb),
      "AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
      "AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
      "AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + config.name,
      "AWS_LAMBDA_LOG_STREAM_NAME=" + log_stream,
      "AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001",
      "AWS_REGION=" + host.region,
      "AWS_DEFAULT_REGION=" + host.region,
      "_HANDLER=" + config.handler,
      "LAMBDA_TASK_ROOT=/var/task",
      "LAMBDA_RUNTIME_DIR=/var/runtime",
      "TZ=:UTC",
      "LANG=en_US.UTF-8",
      "PATH=/usr/local/bin:/usr/bin/:/bin:/opt/bin",
      "LD_LIBRARY_PATH=/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/"
      "lib:/opt/lib",
      "HOME=/home/sbx_user1051",
  };
  for (const auto& [key, value] : config.environment) env.push_back(key + "=" + value);
  return env;
}

std::optional<Entrypoint> find_entrypoint(const common::FunctionConfig& config,
                                          const std::filesystem::path& code_dir,
                                          const std::filesystem::path& runtimes_dir,
                                          std::string* why_not) {
  (void)runtimes_dir;
  if (config.is_provided_runtime()) {
    const auto bootstrap = code_dir / "bootstrap";
    if (::access(bootstrap.c_str(), X_OK) == 0) return Entrypoint{{"/var/task/bootstrap"}, {}};
    if (why_not != nullptr) {
      *why_not = ::access(bootstrap.c_str(), F_OK) == 0
                     ? "Couldn't find valid bootstrap(s): [/var/task/bootstrap] is not executable"
                     : "Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]";
    }
    return std::nullopt;
  }
  if (why_not != nullptr) *why_not = "Runtime " + config.runtime + " has no entry point";
  return std::nullopt;
}

sandbox::LaunchSpec launch_spec_for(const common::FunctionConfig& config,
                                    const std::filesystem::path& code_dir,
                                    const Entrypoint& entrypoint, const HostIdentity& host,
                                    const std::string& log_stream, bool cpu_quota) {
  sandbox::LaunchSpec spec;
  spec.code_dir = code_dir;
  spec.runtime_dir = entrypoint.runtime_dir;
  spec.argv = entrypoint.argv;
  spec.env = lambda_environment(config, host, log_stream);
  spec.limits.memory_mb = static_cast<uint64_t>(config.memory_mb);
  spec.limits.cpu_quota = cpu_quota;
  return spec;
}

}  // namespace runtimed
