// parse_cold_phases (see cold_phases.hpp).
#include "runtimed/bench/cold_phases.hpp"

#include <charconv>
#include <cmath>

namespace runtimed::bench {

std::optional<ColdPhases> parse_cold_phases(std::string_view header) {
  ColdPhases phases;
  bool launch = false, init = false, invoke = false;
  while (!header.empty()) {
    const size_t end = header.find(';');
    std::string_view item = header.substr(0, end);
    header = end == std::string_view::npos ? std::string_view() : header.substr(end + 1);
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    const std::string_view key = item.substr(0, eq);
    const std::string_view text = item.substr(eq + 1);
    double value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() ||
        !std::isfinite(value) || value < 0)
      return std::nullopt;
    bool* seen = nullptr;
    double* slot = nullptr;
    if (key == "launch") seen = &launch, slot = &phases.launch_ms;
    if (key == "init") seen = &init, slot = &phases.init_ms;
    if (key == "invoke") seen = &invoke, slot = &phases.invoke_ms;
    if (!seen) continue;
    if (*seen) return std::nullopt;
    *seen = true;
    *slot = value;
  }
  if (!launch || !init || !invoke) return std::nullopt;
  return phases;
}

}  // namespace runtimed::bench
