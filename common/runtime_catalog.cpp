#include "common/runtime_catalog.hpp"

#include <array>

namespace common {

namespace {
constexpr std::array kRuntimes = {
    RuntimeInfo{"provided", true},        RuntimeInfo{"provided.al2", true},
    RuntimeInfo{"provided.al2023", true}, RuntimeInfo{"python3.8", false},
    RuntimeInfo{"python3.9", false},      RuntimeInfo{"python3.10", false},
    RuntimeInfo{"python3.11", false},     RuntimeInfo{"python3.12", false},
    RuntimeInfo{"python3.13", false},     RuntimeInfo{"nodejs16.x", false},
    RuntimeInfo{"nodejs18.x", false},     RuntimeInfo{"nodejs20.x", false},
    RuntimeInfo{"nodejs22.x", false},     RuntimeInfo{"java8", false},
    RuntimeInfo{"java8.al2", false},      RuntimeInfo{"java11", false},
    RuntimeInfo{"java17", false},         RuntimeInfo{"java21", false},
    RuntimeInfo{"dotnet6", false},        RuntimeInfo{"dotnet8", false},
    RuntimeInfo{"ruby3.2", false},        RuntimeInfo{"ruby3.3", false},
    RuntimeInfo{"ruby3.4", false},
};
}  // namespace

std::span<const RuntimeInfo> runtimes() { return kRuntimes; }

RuntimeSupport runtime_support(std::string_view id) {
  for (const auto& r : kRuntimes)
    if (r.id == id) return r.supported ? RuntimeSupport::Supported : RuntimeSupport::NotSupported;
  return RuntimeSupport::Unknown;
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
