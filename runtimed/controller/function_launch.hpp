// What a function's runtime is started with: Lambda's environment variables, then the function's
// own, the entry point, and the cgroup limits from its configuration.
#pragma once

#include <expected>
#include <filesystem>
#include <map>
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
// `opt_dir`: the host directory bound at /opt (the function's layers), empty without layers; a
// provided runtime's bootstrap may come from it (/opt/bootstrap), as on Lambda.
std::expected<Entrypoint, std::string> find_entrypoint(const common::FunctionConfig& config,
                                                       const std::filesystem::path& code_dir,
                                                       const std::filesystem::path& runtimes_dir,
                                                       const std::filesystem::path& opt_dir = {});

// The stems (see StemPool) of the managed languages whose bootstrap can wait for its function:
// python. Keyed by language; each with the interpreter's argv as find_entrypoint makes it and the
// part of lambda_environment every function shares, which the interpreter starts with.
std::map<std::string, sandbox::StemSpec> stem_specs(const std::filesystem::path& runtimes_dir);
// The language of the stem that can become this function's runtime, or empty. A stem started
// before its function's environment was known, so a function whose own variables change how the
// interpreter or the dynamic linker start (PYTHON* but PYTHONPATH, LD_*, LANG, LC_*, an exec
// wrapper) starts cold as usual, as does one whose entry point is not the stem's.
std::string stem_language(const common::FunctionConfig& config, const Entrypoint& entrypoint,
                          const std::map<std::string, sandbox::StemSpec>& stems);

sandbox::LaunchSpec launch_spec_for(const common::FunctionConfig& config,
                                    const std::filesystem::path& code_dir,
                                    const Entrypoint& entrypoint, const HostIdentity& host,
                                    const std::string& log_stream, bool cpu_quota);

}  // namespace runtimed
