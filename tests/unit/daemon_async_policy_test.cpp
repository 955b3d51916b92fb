// Retry and backoff arithmetic of asynchronous invocation, and the records failures produce.
#include <gtest/gtest.h>

#include "runtimed/async/async_policy.hpp"

namespace {

using namespace std::chrono_literals;
using runtimed::AsyncPolicy;

TEST(AsyncPolicyTest, RetryDelaysAreLambdasMinuteThenTwoByDefault) {
  AsyncPolicy p;
  EXPECT_EQ(runtimed::retry_delay(p, 1), 60s);
  EXPECT_EQ(runtimed::retry_delay(p, 2), 120s);
  EXPECT_EQ(runtimed::retry_delay(p, 3), 120s) << "past the list: its last value";
}

TEST(AsyncPolicyTest, RetryDelaysParseFromSecondsList) {
  auto d = runtimed::parse_retry_delays("1,1");
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, (std::vector<std::chrono::milliseconds>{1s, 1s}));
  EXPECT_FALSE(runtimed::parse_retry_delays(""));
  EXPECT_FALSE(runtimed::parse_retry_delays("1,x"));
  EXPECT_FALSE(runtimed::parse_retry_delays("-1"));
  EXPECT_FALSE(runtimed::parse_retry_delays("1,,2"));
}

TEST(AsyncPolicyTest, ThrottleBackoffDoublesFromOneSecondUpToFiveMinutes) {
  AsyncPolicy p;
  EXPECT_EQ(runtimed::throttle_backoff(p, 1), 1s);
  EXPECT_EQ(runtimed::throttle_backoff(p, 2), 2s);
  EXPECT_EQ(runtimed::throttle_backoff(p, 9), 256s);
  EXPECT_EQ(runtimed::throttle_backoff(p, 10), 300s);
  EXPECT_EQ(runtimed::throttle_backoff(p, 1000), 300s);
  p.initial_backoff = 3s;
  EXPECT_EQ(runtimed::throttle_backoff(p, 3), 12s);
}

TEST(AsyncPolicyTest, RetriesAreSpentOnlyByFunctionErrorsBeyondTheMaximum) {
  EXPECT_FALSE(runtimed::retries_exhausted(1, 2));
  EXPECT_FALSE(runtimed::retries_exhausted(2, 2));
  EXPECT_TRUE(runtimed::retries_exhausted(3, 2));
  EXPECT_TRUE(runtimed::retries_exhausted(1, 0));
}

TEST(AsyncPolicyTest, NextAttemptNeverLiesPastTheEventsExpiry) {
  const int64_t enqueued = 1'000'000;
  const int64_t expiry = runtimed::expiry_ms(enqueued, 60);
  EXPECT_EQ(expiry, enqueued + 60'000);
  EXPECT_EQ(runtimed::next_attempt_ms(enqueued + 1000, 2s, expiry), enqueued + 3000);
  EXPECT_EQ(runtimed::next_attempt_ms(enqueued + 50'000, 120s, expiry), expiry);
}

TEST(AsyncPolicyTest, DeadLetterAttributesCarryStatusAndFirstKilobyteOfError) {
  const std::string long_error = std::string(1023, 'a') + "\xc3\xa9" + "tail";
  const auto a = runtimed::dead_letter_attributes("rid-1", 200, long_error);
  EXPECT_EQ(a["RequestID"]["StringValue"], "rid-1");
  EXPECT_EQ(a["ErrorCode"]["DataType"], "Number");
  EXPECT_EQ(a["ErrorCode"]["StringValue"], "200");
  // 1,024 bytes would split the two-byte é: the partial character is dropped.
  EXPECT_EQ(a["ErrorMessage"]["StringValue"].get<std::string>(), std::string(1023, 'a'));
  EXPECT_EQ(runtimed::error_message_of(R"({"errorMessage":"boom","errorType":"E"})"), "boom");
  EXPECT_EQ(runtimed::error_message_of("plain"), "plain");
}

TEST(AsyncPolicyTest, DestinationRecordHasLambdasShape) {
  runtimed::DestinationRecord r;
  r.request_id = "rid";
  r.function_arn = "arn:aws:lambda:us-east-1:000000000000:function:f";
  r.condition = "RetriesExhausted";
  r.approximate_invoke_count = 3;
  r.request_payload = R"({"a":1})";
  r.function_error = true;
  r.response = R"({"errorMessage":"boom"})";
  r.timestamp = std::chrono::system_clock::time_point(std::chrono::milliseconds(1700000000123));
  const auto j = runtimed::destination_record(r);
  EXPECT_EQ(j["version"], "1.0");
  EXPECT_EQ(j["timestamp"], "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(j["requestContext"]["functionArn"], r.function_arn + ":$LATEST");
  EXPECT_EQ(j["requestContext"]["approximateInvokeCount"], 3);
  EXPECT_EQ(j["requestPayload"]["a"], 1);
  EXPECT_EQ(j["responseContext"]["functionError"], "Unhandled");
  EXPECT_EQ(j["responseContext"]["executedVersion"], "$LATEST");
  EXPECT_EQ(j["responsePayload"]["errorMessage"], "boom");
}

}  // namespace
