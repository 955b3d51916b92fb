// Builds a function's launch spec (see function_launch.hpp).
#include "runtimed/controller/function_launch.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>

#include "common/account_scope.hpp"
#include "common/ids.hpp"
#include "common/runtime_catalog.hpp"

namespace runtimed {

std::string new_log_stream_name(const std::string& version) {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  char date[16];
  std::strftime(date, sizeof date, "%Y/%m/%d", &utc);
  return std::string(date) + "/[" + version + "]" + common::random_hex(32);
}

namespace {

// The bootstrap file of each managed language, under runtimes_dir/<language>/.
std::string bootstrap_file(std::string_view language) {
  return language == "nodejs" ? "bootstrap.cjs" : "bootstrap.py";
}

}  // namespace

namespace {

// What every function's environment holds whatever the function: a stem starts with it.
std::vector<std::string> shared_environment() {
  return {
      "LAMBDA_TASK_ROOT=/var/task",
      "LAMBDA_RUNTIME_DIR=/var/runtime",
      "TZ=:UTC",
      "LANG=en_US.UTF-8",
      "PATH=/usr/local/bin:/usr/bin/:/bin:/opt/bin",
      std::string("LD_LIBRARY_PATH=/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:") +
          "/var/task/lib:/opt/lib",
      "HOME=/home/sbx_user1051",
  };
}

// How a managed language's interpreter runs its bootstrap.
std::vector<std::string> managed_argv(std::string_view language, const std::string& interpreter,
                                      int memory_mb) {
  const std::string in_sandbox = "/var/runtime/" + bootstrap_file(language);
  if (language == "nodejs") {
    // As Lambda's node runtime does: V8's heap sized from the function's memory, leaving room
    // for the rest of the process under the cgroup limit.
    return {interpreter, fmt::format("--max-old-space-size={}", memory_mb * 90 / 100),
            fmt::format("--max-semi-space-size={}", std::max(1, memory_mb * 5 / 100)), in_sandbox};
  }
  // -u: print() reaches the log line by line even if the runtime is killed.
  return {interpreter, "-u", in_sandbox};
}

}  // namespace

std::vector<std::string> lambda_environment(const common::FunctionConfig& config,
                                            const HostIdentity& host,
                                            const std::string& log_stream) {
  std::vector<std::string> env = {
      "AWS_LAMBDA_FUNCTION_NAME=" + std::string(common::display_name(config.name)),
      "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + std::to_string(config.memory_mb),
      "AWS_LAMBDA_FUNCTION_VERSION=" + config.version,
      "AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
      "AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + std::string(common::display_name(config.name)),
      "AWS_LAMBDA_LOG_STREAM_NAME=" + log_stream,
      "AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001",
      "AWS_REGION=" + host.region,
      "AWS_DEFAULT_REGION=" + host.region,
      "_HANDLER=" + config.handler,
  };
  const auto shared = shared_environment();
  env.insert(env.end(), shared.begin(), shared.end());
  // Lambda names the managed runtime; a provided* runtime gets no AWS_EXECUTION_ENV.
  if (const auto* rt = common::find_runtime(config.runtime); rt && !rt->language.empty()) {
    env.push_back("AWS_EXECUTION_ENV=AWS_Lambda_" + config.runtime);
    // Where layers put libraries for each language, as Lambda's runtimes look for them.
    if (rt->language == "nodejs") {
      const std::string major = config.runtime.substr(0, config.runtime.find('.'));  // nodejs20
      env.push_back("NODE_PATH=/opt/nodejs/node" + major.substr(std::string("nodejs").size()) +
                    "/node_modules:/opt/nodejs/node_modules:/var/runtime/node_modules:/var/"
                    "runtime:/var/task");
    } else if (rt->language == "python") {
      env.push_back("PYTHONPATH=/opt/python/lib/" + config.runtime + "/site-packages");
    }
  }
  // The function's own variables replace the defaults of the same name (PATH, TZ, LANG,
  // PYTHONPATH, NODE_PATH, LD_LIBRARY_PATH… are the user's to change, as on Lambda): a second entry
  // would be invisible, since getenv finds the first.
  for (const auto& [key, value] : config.environment) {
    const std::string prefix = key + "=";
    auto same = std::find_if(env.begin(), env.end(),
                             [&](const std::string& e) { return e.starts_with(prefix); });
    if (same != env.end())
      *same = prefix + value;
    else
      env.push_back(prefix + value);
  }
  return env;
}

std::expected<Entrypoint, std::string> find_entrypoint(const common::FunctionConfig& config,
                                                       const std::filesystem::path& code_dir,
                                                       const std::filesystem::path& runtimes_dir,
                                                       const std::filesystem::path& opt_dir) {
  if (config.is_provided_runtime()) {
    // The function's own bootstrap first, then a layer's, as Lambda looks for them.
    const auto bootstrap = code_dir / "bootstrap";
    if (::access(bootstrap.c_str(), X_OK) == 0) return Entrypoint{{"/var/task/bootstrap"}, {}};
    if (!opt_dir.empty() && ::access((opt_dir / "bootstrap").c_str(), X_OK) == 0)
      return Entrypoint{{"/opt/bootstrap"}, {}};
    return std::unexpected(
        ::access(bootstrap.c_str(), F_OK) == 0
            ? "Couldn't find valid bootstrap(s): [/var/task/bootstrap] is not executable"
            : "Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]");
  }
  const auto* rt = common::find_runtime(config.runtime);
  if (rt == nullptr || rt->language.empty()) {
    return std::unexpected("Runtime " + config.runtime + " has no entry point");
  }
  const std::string interpreter(rt->interpreter);
  if (::access(interpreter.c_str(), X_OK) != 0) {
    return std::unexpected(fmt::format("Runtime {} runs on the host's {}, which is not installed",
                                       config.runtime, interpreter));
  }
  const std::filesystem::path dir = runtimes_dir / std::string(rt->language);
  const std::string file = bootstrap_file(rt->language);
  if (::access((dir / file).c_str(), R_OK) != 0) {
    return std::unexpected(fmt::format("Couldn't find the {} runtime's bootstrap: {} is missing",
                                       rt->language, (dir / file).string()));
  }
  return Entrypoint{managed_argv(rt->language, interpreter, config.memory_mb), dir};
}

std::map<std::string, sandbox::StemSpec> stem_specs(const std::filesystem::path& runtimes_dir) {
  std::map<std::string, sandbox::StemSpec> out;
  // One runtime name stands for its language: every python3.x runs on the one python3, every
  // nodejsN.x on the one node. Node's argv holds its heap size: its stem serves the default
  // memory size only (stem_language compares argv).
  for (const char* runtime : {"python3.12", "nodejs20.x"}) {
    const auto* rt = common::find_runtime(runtime);
    if (rt == nullptr) continue;
    const std::string interpreter(rt->interpreter);
    const std::filesystem::path dir = runtimes_dir / std::string(rt->language);
    if (::access(interpreter.c_str(), X_OK) != 0 ||
        ::access((dir / bootstrap_file(rt->language)).c_str(), R_OK) != 0)
      continue;
    sandbox::StemSpec spec;
    spec.runtime_dir = dir;
    spec.argv = managed_argv(rt->language, interpreter, common::kDefaultMemoryMb);
    spec.env = shared_environment();
    spec.env.push_back("RUNTIMED_STEM_FD=3");
    out.emplace(std::string(rt->language), std::move(spec));
  }
  return out;
}

std::string stem_language(const common::FunctionConfig& config, const Entrypoint& entrypoint,
                          const std::map<std::string, sandbox::StemSpec>& stems) {
  const auto* rt = common::find_runtime(config.runtime);
  if (rt == nullptr || rt->language.empty()) return {};
  const auto stem = stems.find(std::string(rt->language));
  if (stem == stems.end() || stem->second.argv != entrypoint.argv ||
      stem->second.runtime_dir != entrypoint.runtime_dir)
    return {};
  // Variables the interpreter, libuv or the dynamic linker read as the process starts.
  const bool python = rt->language == "python";
  for (const auto& [key, value] : config.environment) {
    const bool interpreter =
        python ? key.starts_with("PYTHON") && key != "PYTHONPATH"
               : (key.starts_with("NODE_") && key != "NODE_PATH") || key.starts_with("UV_");
    if (interpreter || key.starts_with("LD_") || key == "LANG" || key.starts_with("LC_") ||
        key == "AWS_LAMBDA_EXEC_WRAPPER")
      return {};
  }
  return stem->first;
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
