// The pure halves of SQS event source mappings: the SQS event a batch becomes, checked field by
// field against the example in AWS's "Using Lambda with Amazon SQS", and the reading of a
// function's batchItemFailures answer, including the malformed ones Lambda treats as a complete
// failure of the batch.
#include <gtest/gtest.h>

#include <set>

#include "runtimed/triggers/event_source_mappings.hpp"

namespace {

using nlohmann::json;
using runtimed::batch_item_failures;
using runtimed::QueueMessage;
using runtimed::sqs_event;

QueueMessage message(std::string id, std::string body, int64_t receive_count = 1) {
  QueueMessage m;
  m.message_id = std::move(id);
  m.receipt_handle = "handle-" + m.message_id;
  m.body = std::move(body);
  m.attributes = json::object();
  m.sent_ms = 1545082649183;
  m.receive_count = receive_count;
  return m;
}

std::set<std::string> keys(const json& object) {
  std::set<std::string> out;
  for (const auto& [k, v] : object.items()) out.insert(k);
  return out;
}

// AWS's example record (messageId 059f36b4-…, body "test", md5 098f6bcd…), its fields as named.
TEST(SqsEventTest, EveryRecordFieldIsTheOneOfAwsExample) {
  const std::string arn = "arn:aws:sqs:us-east-2:123456789012:my-queue";
  const json event =
      sqs_event({message("059f36b4-87a3-44ab-83d2-661975830a7d", "test")}, arn, "us-east-2");
  ASSERT_EQ(keys(event), std::set<std::string>{"Records"});
  ASSERT_TRUE(event["Records"].is_array());
  ASSERT_EQ(event["Records"].size(), 1u);
  const json& r = event["Records"][0];
  EXPECT_EQ(keys(r), (std::set<std::string>{"messageId", "receiptHandle", "body", "attributes",
                                            "messageAttributes", "md5OfBody", "eventSource",
                                            "eventSourceARN", "awsRegion"}));
  EXPECT_EQ(r["messageId"], "059f36b4-87a3-44ab-83d2-661975830a7d");
  EXPECT_EQ(r["receiptHandle"], "handle-059f36b4-87a3-44ab-83d2-661975830a7d");
  EXPECT_EQ(r["body"], "test");
  EXPECT_EQ(r["md5OfBody"], "098f6bcd4621d373cade4e832627b4f6");  // AWS's example's md5 of "test"
  EXPECT_EQ(r["eventSource"], "aws:sqs");
  EXPECT_EQ(r["eventSourceARN"], arn);
  EXPECT_EQ(r["awsRegion"], "us-east-2");
  EXPECT_EQ(r["messageAttributes"], json::object());

  const json& a = r["attributes"];
  EXPECT_EQ(keys(a), (std::set<std::string>{"ApproximateReceiveCount", "SentTimestamp", "SenderId",
                                            "ApproximateFirstReceiveTimestamp"}));
  // Every attribute is a string, numbers included, as SQS gives them.
  for (const auto& [name, value] : a.items()) EXPECT_TRUE(value.is_string()) << name;
  EXPECT_EQ(a["ApproximateReceiveCount"], "1");
  EXPECT_EQ(a["SentTimestamp"], "1545082649183");
  EXPECT_FALSE(a["SenderId"].get<std::string>().empty());
  EXPECT_GE(std::stoll(a["ApproximateFirstReceiveTimestamp"].get<std::string>()),
            std::stoll(a["SentTimestamp"].get<std::string>()));
}

TEST(SqsEventTest, RecordsKeepTheBatchOrderAndEachItsOwnCountsAndDigest) {
  auto second = message("m2", "{\"foo\": 2}", 3);
  second.sent_ms = 1545082650636;
  const json event = sqs_event({message("m1", ""), second}, "arn:aws:sqs:us-east-1:1:q", "r");
  ASSERT_EQ(event["Records"].size(), 2u);
  EXPECT_EQ(event["Records"][0]["messageId"], "m1");
  EXPECT_EQ(event["Records"][0]["md5OfBody"], "d41d8cd98f00b204e9800998ecf8427e");  // md5("")
  EXPECT_EQ(event["Records"][1]["messageId"], "m2");
  EXPECT_EQ(event["Records"][1]["body"], "{\"foo\": 2}");  // a JSON body stays a string
  EXPECT_EQ(event["Records"][1]["md5OfBody"], "2b985fa90138327bef586f9ad87fc310");
  EXPECT_EQ(event["Records"][1]["attributes"]["ApproximateReceiveCount"], "3");
  EXPECT_EQ(event["Records"][1]["attributes"]["SentTimestamp"], "1545082650636");
  EXPECT_EQ(sqs_event({}, "arn", "r"), json({{"Records", json::array()}}));
}

// SendMessage's {"Name": {"DataType", "StringValue"}} becomes Lambda's lower-camel shape:
// {"stringValue", "stringListValues", "binaryListValues", "dataType"}.
TEST(SqsEventTest, MessageAttributesTakeLambdasShape) {
  auto m = message("m", "b");
  m.attributes = {{"myAttribute", {{"DataType", "String"}, {"StringValue", "myValue"}}},
                  {"count", {{"DataType", "Number"}, {"StringValue", "100"}}}};
  const json attributes = sqs_event({m}, "arn", "r")["Records"][0]["messageAttributes"];
  EXPECT_EQ(attributes["myAttribute"], json({{"stringValue", "myValue"},
                                             {"stringListValues", json::array()},
                                             {"binaryListValues", json::array()},
                                             {"dataType", "String"}}));
  EXPECT_EQ(attributes["count"]["dataType"], "Number");
  EXPECT_EQ(attributes["count"]["stringValue"], "100");
}

class BatchItemFailuresTest : public ::testing::Test {
 protected:
  std::vector<QueueMessage> batch_{message("a", "1"), message("b", "2"), message("c", "3")};
};

TEST_F(BatchItemFailuresTest, ReportedIdsAreTheFailedOnes) {
  auto failed = batch_item_failures(
      R"({"batchItemFailures":[{"itemIdentifier":"b"},{"itemIdentifier":"c"}]})", batch_);
  ASSERT_TRUE(failed);
  EXPECT_EQ(*failed, (std::vector<std::string>{"b", "c"}));
}

// Lambda: an empty or null list, an empty or null answer: a complete success.
TEST_F(BatchItemFailuresTest, EmptyOrNullAnswersAreACompleteSuccess) {
  for (const char* answer : {"", "null", "{}", R"({"batchItemFailures":[]})",
                             R"({"batchItemFailures":null})", R"({"other":1})"}) {
    auto failed = batch_item_failures(answer, batch_);
    ASSERT_TRUE(failed) << answer;
    EXPECT_TRUE(failed->empty()) << answer;
  }
}

// Lambda: invalid JSON, an empty or null itemIdentifier, a bad key name, or a message id that is
// not in the batch: a complete failure (nullopt), never "all but these succeeded".
TEST_F(BatchItemFailuresTest, MalformedAnswersFailTheWholeBatch) {
  for (const char* answer : {
           "not json",
           R"({"batchItemFailures":)",
           R"({"batchItemFailures":[{"itemIdentifier":""}]})",
           R"({"batchItemFailures":[{"itemIdentifier":null}]})",
           R"({"batchItemFailures":[{"itemId":"a"}]})",
           R"({"batchItemFailures":[{"itemIdentifier":"nosuch"}]})",
           R"({"batchItemFailures":[{"itemIdentifier":"a"},{"itemIdentifier":"nosuch"}]})",
           R"({"batchItemFailures":[{"itemIdentifier":7}]})",
           R"({"batchItemFailures":["a"]})",
           R"({"batchItemFailures":"a"})",
           R"({"batchItemFailures":{"itemIdentifier":"a"}})",
           R"(["a"])",
           R"("a")",
       }) {
    EXPECT_FALSE(batch_item_failures(answer, batch_)) << answer;
  }
}

}  // namespace
