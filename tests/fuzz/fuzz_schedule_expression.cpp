// Schedule expressions (runtimed/triggers/schedule_expression): what a PUT /runtimed/v1/schedules
// or a template's Schedule event gives, parsed, then evaluated in a few zones. Checks: parsing
// never crashes, and a next fire time is strictly after the instant asked about (and the next one
// after it later still), so the scheduler can never fire twice at one instant or loop.
#include <fuzzer/FuzzedDataProvider.h>

#include <array>
#include <cstdlib>
#include <string>

#include "runtimed/triggers/schedule_expression.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  static const std::array<std::string, 4> kZones = {"UTC", "America/New_York", "Europe/Paris",
                                                    "Australia/Lord_Howe"};
  const std::string& zone = kZones[in.ConsumeIntegralInRange<size_t>(0, kZones.size() - 1)];
  const bool seconds = in.ConsumeBool();
  // Instants from 1970 to 2200.
  const auto after = runtimed::Seconds(
      std::chrono::seconds(in.ConsumeIntegralInRange<int64_t>(0, int64_t{7'258'118'400})));
  const auto anchor = runtimed::Seconds(
      std::chrono::seconds(in.ConsumeIntegralInRange<int64_t>(0, int64_t{7'258'118'400})));
  const std::string text = in.ConsumeRemainingBytesAsString();
  auto expression = runtimed::parse_schedule_expression(text, seconds);
  if (!expression) {
    if (expression.error().empty()) std::abort();
    return 0;
  }
  auto next = runtimed::next_fire(*expression, zone, anchor, after);
  if (!next) return 0;
  if (*next <= after) std::abort();
  auto again = runtimed::next_fire(*expression, zone, anchor, *next);
  if (again && *again <= *next) std::abort();
  return 0;
}
