// The bench's trace replay: reading the Azure Functions 2019 trace format and the open-model
// schedule it becomes.
#include <gtest/gtest.h>

#include <sstream>

#include "runtimed/bench/azure_trace.hpp"

namespace runtimed::bench {
namespace {

// Four functions over three minutes; "b" is busiest, then "d" and "a" tie (a is earlier).
constexpr const char* kTrace =
    "HashOwner,HashApp,HashFunction,Trigger,1,2,3\r\n"
    "o1,app1,a,http,1,0,2\r\n"
    "o1,app1,b,timer,5,5,0\r\n"
    "o2,app2,c,queue,0,0,1\r\n"
    "o2,app2,d,http,0,3,0\r\n";

Trace parse(const std::string& text, size_t keep) {
  std::istringstream in(text);
  auto trace = parse_azure_trace(in, keep);
  EXPECT_TRUE(trace) << trace.error();
  return trace ? *trace : Trace{};
}

std::string parse_error(const std::string& text) {
  std::istringstream in(text);
  auto trace = parse_azure_trace(in, 1);
  EXPECT_FALSE(trace);
  return trace ? std::string() : trace.error();
}

TEST(BenchAzureTrace, KeepsTheBusiestFunctionsMostFirstTiesInFileOrder) {
  const Trace trace = parse(kTrace, 3);
  EXPECT_EQ(trace.rows, 4u);
  EXPECT_EQ(trace.minutes, 3u);
  ASSERT_EQ(trace.busiest.size(), 3u);
  EXPECT_EQ(trace.busiest[0].function, "b");
  EXPECT_EQ(trace.busiest[0].total, 10u);
  EXPECT_EQ(trace.busiest[0].trigger, "timer");
  EXPECT_EQ(trace.busiest[1].function, "a");
  EXPECT_EQ(trace.busiest[2].function, "d");
  EXPECT_EQ(trace.busiest[1].per_minute, (std::vector<uint32_t>{1, 0, 2}));
  EXPECT_EQ(parse(kTrace, 10).busiest.size(), 4u);
  EXPECT_EQ(parse(kTrace, 1).busiest[0].function, "b");
}

TEST(BenchAzureTrace, RefusesWhatIsNotTheTraceNamingTheLine) {
  EXPECT_NE(parse_error("").find("empty"), std::string::npos);
  EXPECT_NE(parse_error("a,b,c\n").find("line 1"), std::string::npos);
  EXPECT_NE(parse_error("HashOwner,HashApp,HashFunction,Trigger,1,3\n").find("minute 2"),
            std::string::npos);
  EXPECT_NE(parse_error("HashOwner,HashApp,HashFunction,Trigger,1,2\no,a,f,http,1\n")
                .find("line 2: 5 fields"),
            std::string::npos);
  EXPECT_NE(parse_error("HashOwner,HashApp,HashFunction,Trigger,1\no,a,f,http,1\no,a,g,http,-1\n")
                .find("line 3, minute 1: '-1'"),
            std::string::npos);
  EXPECT_NE(parse_error("HashOwner,HashApp,HashFunction,Trigger,1\no,a,f,http,\n").find("count"),
            std::string::npos);
}

TEST(BenchReplaySchedule, EvenSpreadPlacesEachMinutesCallsMidSlotAndSpeedupCompresses) {
  const Trace trace = parse(kTrace, 2);  // b: 5,5,0 and a: 1,0,2
  ReplayOptions options{.targets = 2, .speedup = 60, .spread = Spread::Even};
  const auto arrivals = replay_schedule(trace, options);
  ASSERT_EQ(arrivals.size(), 13u);
  // At 60x a minute lasts a second: b's five in minute 1 are due at 0.1, 0.3, … 0.9 s.
  std::vector<double> b_times, a_times;
  for (const Arrival& a : arrivals) (a.target == 0 ? b_times : a_times).push_back(a.due_s);
  ASSERT_EQ(b_times.size(), 10u);
  EXPECT_NEAR(b_times[0], 0.1, 1e-9);
  EXPECT_NEAR(b_times[4], 0.9, 1e-9);
  EXPECT_NEAR(b_times[5], 1.1, 1e-9);
  ASSERT_EQ(a_times.size(), 3u);
  EXPECT_NEAR(a_times[0], 0.5, 1e-9);
  EXPECT_NEAR(a_times[1], 2.25, 1e-9);
  EXPECT_NEAR(a_times[2], 2.75, 1e-9);
  for (size_t i = 1; i < arrivals.size(); ++i) EXPECT_LE(arrivals[i - 1].due_s, arrivals[i].due_s);
  // One target: everything goes to it.
  options.targets = 1;
  for (const Arrival& a : replay_schedule(trace, options)) EXPECT_EQ(a.target, 0u);
}

TEST(BenchReplaySchedule, RandomSpreadStaysInItsMinuteAndRepeatsForASeed) {
  const Trace trace = parse(kTrace, 4);
  ReplayOptions options{.targets = 1, .speedup = 1, .spread = Spread::Random, .seed = 7};
  const auto first = replay_schedule(trace, options);
  ASSERT_EQ(first.size(), 17u);
  size_t in_minute_2 = 0;
  for (const Arrival& a : first) {
    EXPECT_GE(a.due_s, 0);
    EXPECT_LT(a.due_s, 180);
    if (a.due_s >= 60 && a.due_s < 120) ++in_minute_2;
  }
  EXPECT_EQ(in_minute_2, 8u);  // b 5, d 3
  const auto again = replay_schedule(trace, options);
  ASSERT_EQ(again.size(), first.size());
  for (size_t i = 0; i < first.size(); ++i) EXPECT_EQ(again[i].due_s, first[i].due_s);
  options.seed = 8;
  EXPECT_NE(replay_schedule(trace, options)[0].due_s, first[0].due_s);
}

TEST(BenchReplaySchedule, AWindowOfMinutesStartsAtZero) {
  const Trace trace = parse(kTrace, 4);
  const auto arrivals = replay_schedule(
      trace, {.speedup = 1, .spread = Spread::Even, .first_minute = 1, .minutes = 1});
  ASSERT_EQ(arrivals.size(), 8u);                        // minute 2 only
  EXPECT_NEAR(arrivals.front().due_s, 60.0 / 10, 1e-9);  // b's first of five: 6 s
  EXPECT_LT(arrivals.back().due_s, 60);
}

TEST(BenchRate, TheRateScheduleIsTheDueTimesInOrder) {
  const auto arrivals = rate_schedule(100, 2, false);
  ASSERT_EQ(arrivals.size(), 200u);
  EXPECT_DOUBLE_EQ(arrivals[150].due_s, 1.5);
  EXPECT_EQ(rate_schedule(100, 2, true).size(), 100u);
}

}  // namespace
}  // namespace runtimed::bench
