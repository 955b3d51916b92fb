// The runtime table (see runtime_catalog.hpp).
#include "common/runtime_catalog.hpp"

#include <array>

namespace common {

namespace {
constexpr std::string_view kPython = "/usr/bin/python3";
constexpr std::string_view kNode = "/usr/bin/node";

constexpr std::array kRuntimes = {
    RuntimeInfo{"provided", true},
    RuntimeInfo{"provided.al2", true},
    RuntimeInfo{"provided.al2023", true},
    RuntimeInfo{"python3.8", false},  // deprecated by Lambda
    RuntimeInfo{"python3.9", true, "python", kPython},
    RuntimeInfo{"python3.10", true, "python", kPython},
    RuntimeInfo{"python3.11", true, "python", kPython},
    RuntimeInfo{"python3.12", true, "python", kPython},
    RuntimeInfo{"python3.13", true, "python", kPython},
    RuntimeInfo{"nodejs16.x", false},  // deprecated by Lambda
    RuntimeInfo{"nodejs18.x", true, "nodejs", kNode},
    RuntimeInfo{"nodejs20.x", true, "nodejs", kNode},
    RuntimeInfo{"nodejs22.x", true, "nodejs", kNode},
    RuntimeInfo{"java8", false},
    RuntimeInfo{"java8.al2", false},
    RuntimeInfo{"java11", false},
    RuntimeInfo{"java17", false},
    RuntimeInfo{"java21", false},
    RuntimeInfo{"dotnet6", false},
    RuntimeInfo{"dotnet8", false},
    RuntimeInfo{"ruby3.2", false},
    RuntimeInfo{"ruby3.3", false},
    RuntimeInfo{"ruby3.4", false},
};
}  // namespace

std::span<const RuntimeInfo> runtimes() { return kRuntimes; }

const RuntimeInfo* find_runtime(std::string_view id) {
  for (const auto& r : kRuntimes)
    if (r.id == id) return &r;
  return nullptr;
}

RuntimeSupport runtime_support(std::string_view id) {
  const RuntimeInfo* r = find_runtime(id);
  if (r == nullptr) return RuntimeSupport::Unknown;
  return r->supported ? RuntimeSupport::Supported : RuntimeSupport::NotSupported;
}

std::string supported_runtimes_text() {
  std::string out;
  for (const auto& r : kRuntimes) {
    if (!r.supported) continue;
    if (!out.empty()) out += ", ";
    out += r.id;
  }
  return out;
}

}  // namespace common
