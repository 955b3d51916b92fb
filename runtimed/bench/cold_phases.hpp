// A cold start's phases as runtimed tells them when asked (request header `X-Runtimed-Phases: 1`):
// response header `X-Runtimed-Cold-Start-Phases: launch=1.2;init=30.1;invoke=0.4`, milliseconds of
// sandbox launch (admission to the runtime's exec), runtime init (exec to its first /next, REPORT's
// Init Duration) and the first invocation (REPORT's Duration).
#pragma once

#include <optional>
#include <string_view>

namespace runtimed::bench {

inline constexpr const char* kPhasesRequestHeader = "X-Runtimed-Phases";
inline constexpr const char* kPhasesResponseHeader = "X-Runtimed-Cold-Start-Phases";
// A warm invocation that thawed its frozen environment first answers with the thaw's milliseconds.
inline constexpr const char* kThawResponseHeader = "X-Runtimed-Thawed";

struct ColdPhases {
  double launch_ms = 0;
  double init_ms = 0;
  double invoke_ms = 0;
};

// The three phases from the header's value; nullopt unless each of launch, init and invoke is
// given once as a finite, non-negative number (unknown keys are ignored, for later phases).
std::optional<ColdPhases> parse_cold_phases(std::string_view header);

}  // namespace runtimed::bench
