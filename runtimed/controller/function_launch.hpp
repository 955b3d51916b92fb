// What a function's runtime is started with: Lambda's environment variables, then the function's
// own, the entry point, and the cgroup limits from its configuration.
#pragma once

#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/function_config.hpp"
#include "common/lambda_identity.hpp"
#include "sandbox/environment.hpp"

namespace runtimed {

using HostIdentity = common::LambdaIdentity;
using common::function_arn;

// "2026/11/24/[$LATEST]<32 hex>", new per environment.
std::string new_log_stream_name(const std::string& version);

// The runtime's environment, in Lambda's order: the platform's variables, then the function's.
std::vector<std::string> lambda_environment(const common::FunctionConfig& config,
                                            const HostIdentity& host,
                                            const std::string& log_stream);

// The entry point inside the sandbox, or the reason it cannot start (Runtime.InvalidEntrypoint).
struct Entrypoint {
  std::vector<std::string> argv;
  std::filesystem::path runtime_dir;  // host directory bound at /var/runtime, may be empty
};
// `runtimes_dir` holds the managed runtimes' bootstraps (runtimes/<language>/ in the source tree).
std::expected<Entrypoint, std::string> find_entrypoint(const common::FunctionConfig& config,
                                                       const std::filesystem::path& code_dir,
                                                       const std::filesystem::path& runtimes_dir);

sandbox::LaunchSpec launch_spec_for(const common::FunctionConfig& config,
                                    const std::filesystem::path& code_dir,
                                    const Entrypoint& entrypoint, const HostIdentity& host,
                                    const std::string& log_stream, bool cpu_quota);

}  // namespace runtimed
