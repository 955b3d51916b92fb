// The one table of Lambda runtime identifiers and whether this version of runtimed runs them.
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
};

// Every runtime identifier Lambda knows; extending support is flipping `supported` here.
std::span<const RuntimeInfo> runtimes();
RuntimeSupport runtime_support(std::string_view id);
// "provided, provided.al2, provided.al2023": for error messages.
std::string supported_runtimes_text();

}  // namespace common
