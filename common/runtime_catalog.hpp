// The one table of Lambda runtime identifiers, whether this version of runtimed runs them, and on
// which host interpreter a managed runtime runs.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace common {

enum class RuntimeSupport {
  Supported,     // runtimed can run it
  NotSupported,  // a real Lambda runtime that runtimed does not run yet
  Unknown,       // not a Lambda runtime at all
};

struct RuntimeInfo {
  std::string_view id;
  bool supported;
  // Managed runtimes only: the bootstrap's directory under the runtimes dir ("python", "nodejs")
  // and the host interpreter that runs it. Every python3.x runs on the host's one python3, every
  // nodejsN.x on its one node: runtimed does not ship interpreters.
  std::string_view language = {};
  std::string_view interpreter = {};
};

// Every runtime identifier Lambda knows; extending support is flipping `supported` here.
std::span<const RuntimeInfo> runtimes();
// The entry for `id`, or nullptr when Lambda has no such runtime.
const RuntimeInfo* find_runtime(std::string_view id);
RuntimeSupport runtime_support(std::string_view id);
// "provided, provided.al2, provided.al2023, python3.9, …": for error messages.
std::string supported_runtimes_text();

}  // namespace common
