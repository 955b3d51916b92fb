// EventBridge Scheduler's expressions: parsing (each form, its errors) and the next fire time,
// in UTC and across America/New_York's DST changes (the system's tzdata).
#include <gtest/gtest.h>

#include "runtimed/triggers/schedule_expression.hpp"

namespace runtimed {
namespace {

using namespace std::chrono;

// An instant from UTC calendar fields.
Seconds utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  return sys_days(year(y) / month(mo) / day(d)) + hours(h) + minutes(mi) + seconds(s);
}

Seconds next(std::string_view text, Seconds after, const std::string& zone = "UTC",
             Seconds anchor = Seconds{}) {
  auto parsed = parse_schedule_expression(text);
  EXPECT_TRUE(parsed) << text << ": " << (parsed ? "" : parsed.error());
  if (!parsed) return Seconds{};
  auto when = next_fire(*parsed, zone, anchor, after);
  EXPECT_TRUE(when) << text;
  return when.value_or(Seconds{});
}

TEST(ScheduleExpression, RatesCountFromTheirStart) {
  const Seconds made = utc(2026, 12, 5, 10, 0, 7);
  EXPECT_EQ(next("rate(5 minutes)", made, "UTC", made), made + minutes(5));
  EXPECT_EQ(next("rate(5 minutes)", made + minutes(12), "UTC", made), made + minutes(15));
  EXPECT_EQ(next("rate(1 hour)", made + hours(1), "UTC", made), made + hours(2));
  EXPECT_EQ(next("rate(2 days)", made, "UTC", made), made + days(2));
  EXPECT_FALSE(parse_schedule_expression("rate(1 minutes)"));
  EXPECT_FALSE(parse_schedule_expression("rate(5 minute)"));
  EXPECT_FALSE(parse_schedule_expression("rate(0 minutes)"));
  EXPECT_FALSE(parse_schedule_expression("rate(5 weeks)"));
  EXPECT_FALSE(parse_schedule_expression("rate(5 seconds)"));
  EXPECT_TRUE(parse_schedule_expression("rate(5 seconds)", /*allow_seconds=*/true));
}

TEST(ScheduleExpression, CronFieldsAsEventBridgeReadsThem) {
  const Seconds t = utc(2026, 12, 5, 10, 7);  // a Saturday
  EXPECT_EQ(next("cron(0 12 * * ? *)", t), utc(2026, 12, 5, 12));
  EXPECT_EQ(next("cron(0/15 * * * ? *)", t), utc(2026, 12, 5, 10, 15));
  EXPECT_EQ(next("cron(0 8 ? * MON-FRI *)", t), utc(2026, 12, 7, 8));
  EXPECT_EQ(next("cron(0 8 ? * 2-6 *)", t), utc(2026, 12, 7, 8));  // 1-7 = SUN-SAT
  EXPECT_EQ(next("cron(30 9 1,15 * ? *)", t), utc(2026, 12, 15, 9, 30));
  EXPECT_EQ(next("cron(0 0 1 JAN ? *)", t), utc(2027, 1, 1));
  EXPECT_EQ(next("cron(0 0 1 1 ? 2030)", t), utc(2030, 1, 1));
  // Strictly after: a tick at `after` itself is not the next one.
  EXPECT_EQ(next("cron(7 10 * * ? *)", t), utc(2026, 12, 6, 10, 7));
}

TEST(ScheduleExpression, LastDaysNearestWeekdaysAndNthWeekdays) {
  const Seconds t = utc(2027, 2, 1);
  EXPECT_EQ(next("cron(0 0 L * ? *)", t), utc(2027, 2, 28));                // month end
  EXPECT_EQ(next("cron(0 0 L * ? *)", utc(2028, 2, 1)), utc(2028, 2, 29));  // leap year
  EXPECT_EQ(next("cron(0 0 ? * 6L *)", t), utc(2027, 2, 26));               // last Friday
  EXPECT_EQ(next("cron(0 0 ? * 3#2 *)", t), utc(2027, 2, 9));               // second Tuesday
  EXPECT_EQ(next("cron(0 0 ? * L *)", t), utc(2027, 2, 6));                 // L alone: Saturday
  // 2027-05-01 is a Saturday: 1W is Monday the 3rd (never the month before).
  EXPECT_EQ(next("cron(0 0 1W * ? *)", utc(2027, 4, 30)), utc(2027, 5, 3));
  // 2027-05-16 is a Sunday: 16W is Monday the 17th; 2027-10-31 a Sunday at the month end: Fri 29th.
  EXPECT_EQ(next("cron(0 0 16W * ? *)", utc(2027, 5, 2)), utc(2027, 5, 17));
  EXPECT_EQ(next("cron(0 0 31W * ? *)", utc(2027, 10, 2)), utc(2027, 10, 29));
}

TEST(ScheduleExpression, TimeZonesAcrossDaylightSavingChanges) {
  // New York, 9:00 local: 14:00 UTC in winter, 13:00 UTC in summer.
  EXPECT_EQ(next("cron(0 9 * * ? *)", utc(2027, 1, 10), "America/New_York"), utc(2027, 1, 10, 14));
  EXPECT_EQ(next("cron(0 9 * * ? *)", utc(2027, 7, 10), "America/New_York"), utc(2027, 7, 10, 13));
  // 2027-03-14 02:30 does not exist in New York (02:00 → 03:00): it fires when the gap ends.
  EXPECT_EQ(next("cron(30 2 * * ? *)", utc(2027, 3, 14), "America/New_York"), utc(2027, 3, 14, 7));
  // 2027-11-07 01:30 happens twice: it fires once, at the first (EDT, 05:30 UTC)...
  EXPECT_EQ(next("cron(30 1 * * ? *)", utc(2027, 11, 7), "America/New_York"),
            utc(2027, 11, 7, 5, 30));
  // ...and next the day after, not at the repeat an hour later.
  EXPECT_EQ(next("cron(30 1 * * ? *)", utc(2027, 11, 7, 5, 30), "America/New_York"),
            utc(2027, 11, 8, 6, 30));
  EXPECT_TRUE(valid_time_zone("Europe/Paris"));
  EXPECT_FALSE(valid_time_zone("Mars/Olympus_Mons"));
}

TEST(ScheduleExpression, AtFiresOnceInItsZone) {
  EXPECT_EQ(next("at(2027-01-01T09:00:00)", utc(2026, 12, 5), "Europe/Paris"), utc(2027, 1, 1, 8));
  auto past = parse_schedule_expression("at(2020-01-01T00:00:00)");
  ASSERT_TRUE(past);
  EXPECT_FALSE(next_fire(*past, "UTC", Seconds{}, utc(2026, 12, 5)));
  EXPECT_FALSE(parse_schedule_expression("at(2027-02-30T00:00:00)"));
  EXPECT_FALSE(parse_schedule_expression("at(2027-01-01 09:00:00)"));
}

TEST(ScheduleExpression, MalformedCronsSayWhy) {
  for (const char* bad :
       {"cron(0 12 * * *)", "cron(0 12 * * * *)", "cron(0 12 ? * ? *)", "cron(60 12 * * ? *)",
        "cron(0 24 * * ? *)", "cron(0 12 32 * ? *)", "cron(0 12 * 13 ? *)", "cron(0 12 ? * 8 *)",
        "cron(0 12 ? * 2#6 *)", "cron(0 12 * * ? 1969)", "cron(0 12 5-1 * ? *)",
        "cron(*/0 12 * * ? *)", "cron(0 12 * FOO ? *)", "every(5 minutes)", "rate 5 minutes"}) {
    auto parsed = parse_schedule_expression(bad);
    EXPECT_FALSE(parsed) << bad;
    if (!parsed) {
      EXPECT_FALSE(parsed.error().empty());
    }
  }
  // A cron that can never fire has no next time.
  auto never = parse_schedule_expression("cron(0 0 31 2 ? *)");
  ASSERT_TRUE(never);
  EXPECT_FALSE(next_fire(*never, "UTC", Seconds{}, utc(2026, 12, 5)));
}

}  // namespace
}  // namespace runtimed
