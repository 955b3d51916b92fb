// EventBridge Scheduler's schedule expressions, parsed and evaluated: rate(5 minutes),
// cron(0 12 ? * MON-FRI *) and at(2027-01-01T09:00:00), cron and at in an IANA time zone
// (Debian's libhowardhinnant-date, reading the system's tzdata). Pure: no clock, no I/O.
// Source: docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html.
#pragma once

#include <bitset>
#include <chrono>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace runtimed {

using Seconds = std::chrono::sys_seconds;

struct RateSchedule {
  std::chrono::seconds every{0};
};

struct CronSchedule {
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<13> months;  // 1-12
  std::bitset<230> years;  // year - 1970, 1970-2199
  // Day of month (1-31), unless `?`.
  bool any_day_of_month = false;  // `?`
  std::bitset<32> days_of_month;
  bool last_day_of_month = false;  // L
  int nearest_weekday_to = 0;      // nW (0: none)
  // Day of week, 1-7 = SUN-SAT, unless `?`.
  bool any_day_of_week = false;  // `?`
  std::bitset<8> days_of_week;
  int last_weekday_of_month = 0;  // nL: the last n-day of the month (0: none)
  int nth_weekday = 0;            // n#k: the k-th n-day of the month
  int nth = 0;
};

struct AtSchedule {
  std::chrono::local_seconds when;
};

struct ScheduleExpression {
  std::variant<RateSchedule, CronSchedule, AtSchedule> kind;
};

// `allow_seconds`: also rate(N second|seconds) (serve --schedule-second-rates, for tests and
// demos; EventBridge's finest rate is one minute).
std::expected<ScheduleExpression, std::string> parse_schedule_expression(
    std::string_view text, bool allow_seconds = false);

// Whether an IANA zone name is known to the system's tzdata.
bool valid_time_zone(const std::string& zone);

// The first instant strictly after `after` at which the schedule fires, or nullopt when it never
// will again (an at() in the past, a cron whose years are over). A rate counts from `anchor`
// (when the schedule was made). cron and at are read in `zone`: a local time that does not exist
// (a DST gap) fires at the gap's end, a repeated one once, at its first occurrence.
std::optional<Seconds> next_fire(const ScheduleExpression& expression, const std::string& zone,
                                 Seconds anchor, Seconds after);

}  // namespace runtimed
