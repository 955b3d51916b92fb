// The durable stores of asynchronous invocation on a real SQLite file: the event queue's claim,
// requeue and crash recovery, and the local message queues' visibility, deletion and redrive.
#include <gtest/gtest.h>

#include <filesystem>

#include "common/ids.hpp"
#include "runtimed/async/async_queue.hpp"
#include "runtimed/async/message_queues.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class AsyncStoresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("rt-async-" + common::random_hex(8));
    open();
  }
  void TearDown() override {
    queues_.reset();
    events_.reset();
    db_.reset();
    fs::remove_all(dir_);
  }
  void open() {
    queues_.reset();
    events_.reset();
    db_.reset();
    auto db = runtimed::StateDb::open(dir_);
    ASSERT_TRUE(db) << db.error();
    db_ = std::move(*db);
    events_ = std::make_unique<runtimed::AsyncQueue>(*db_);
    queues_ = std::make_unique<runtimed::MessageQueues>(*db_, "us-east-1", "000000000000");
  }
  fs::path dir_;
  std::unique_ptr<runtimed::StateDb> db_;
  std::unique_ptr<runtimed::AsyncQueue> events_;
  std::unique_ptr<runtimed::MessageQueues> queues_;
};

TEST_F(AsyncStoresTest, ClaimCountsAnAttemptAndSurvivesReopenAsInFlight) {
  ASSERT_TRUE(events_->enqueue("f", R"({"a":1})", "r1", 1000));
  ASSERT_TRUE(events_->enqueue("f", R"({"a":2})", "r2", 1001));
  auto due = events_->due(2000);
  ASSERT_TRUE(due);
  EXPECT_EQ(*due, (std::vector<std::pair<std::string, int64_t>>{{"f", 2}}));
  auto claimed = events_->claim("f", 1, 2000, 60, true);
  ASSERT_TRUE(claimed);
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ((*claimed)[0].request_id, "r1");
  EXPECT_EQ((*claimed)[0].invoke_count, 1);
  EXPECT_EQ(events_->backlog("f")->in_flight, 1);

  open();  // as after a crash
  auto recovered = events_->recover_in_flight(5000);
  ASSERT_TRUE(recovered);
  EXPECT_EQ(*recovered, 1);
  EXPECT_EQ(events_->backlog("f")->in_flight, 0);
  EXPECT_EQ(**events_->next_due_ms(), 1001);
  auto again = events_->claim("f", 10, 5000, 60, true);
  ASSERT_EQ(again->size(), 2u);
  const auto& r1 = (*again)[1].request_id == "r1" ? (*again)[1] : (*again)[0];
  EXPECT_EQ(r1.invoke_count, 2) << "the cut-off attempt still counts";
  EXPECT_EQ(r1.function_errors, 0) << "but spends no retry";
  EXPECT_EQ(r1.throttles, 1);
}

TEST_F(AsyncStoresTest, RequeueWaitsUntilItsTimeAndCountsTheKindOfFailure) {
  ASSERT_TRUE(events_->enqueue("f", "{}", "r", 0));
  auto e = events_->claim("f", 1, 0, 60, true)->at(0);
  ASSERT_TRUE(events_->requeue(e, 3000, true, 200, "boom"));
  EXPECT_TRUE(events_->due(2999)->empty());
  auto later = events_->claim("f", 1, 3000, 60, true);
  ASSERT_EQ(later->size(), 1u);
  EXPECT_EQ(later->at(0).function_errors, 1);
  EXPECT_EQ(later->at(0).last_status, 200);
  EXPECT_EQ(later->at(0).last_error, "boom");
}

TEST_F(AsyncStoresTest, ExpiredEventsAreClaimedWithoutCapacityAndWithoutAnAttempt) {
  ASSERT_TRUE(events_->enqueue("f", "{}", "old", 0));
  ASSERT_TRUE(events_->enqueue("f", "{}", "new", 59'000));
  auto claimed = events_->claim("f", 0, 60'000, 60, true);
  ASSERT_TRUE(claimed);
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ(claimed->at(0).request_id, "old");
  EXPECT_TRUE(claimed->at(0).expired);
  EXPECT_EQ(claimed->at(0).invoke_count, 0);
}

TEST_F(AsyncStoresTest, ReceivedMessagesHideForTheirVisibilityThenReappear) {
  ASSERT_TRUE(queues_->send("q", "body-1", json{{"K", {{"DataType", "String"}}}}, "", 1000));
  ASSERT_TRUE(queues_->send("q", "body-2", json::object(), "", 1001));
  auto got = queues_->receive("q", 1, 30, 2000);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ(got->at(0).body, "body-1");
  EXPECT_EQ(got->at(0).receive_count, 1);
  auto list = queues_->list(2000);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(list->at(0).arn, "arn:aws:sqs:us-east-1:000000000000:q");
  EXPECT_EQ(list->at(0).visible, 1);
  EXPECT_EQ(list->at(0).not_visible, 1);
  auto next = queues_->receive("q", 10, 30, 2000);
  ASSERT_EQ(next->size(), 1u);
  EXPECT_EQ(next->at(0).body, "body-2");
  auto back = queues_->receive("q", 10, 30, 32'001);
  ASSERT_EQ(back->size(), 2u) << "both visibility timeouts have passed";
  EXPECT_EQ(back->at(0).receive_count, 2);
  EXPECT_FALSE(queues_->delete_message("q", got->at(0).receipt_handle))
      << "a handle from an earlier receive is stale";
  EXPECT_TRUE(queues_->delete_message("q", back->at(0).receipt_handle));
  EXPECT_EQ(*queues_->purge("q"), 1);
  EXPECT_EQ(queues_->receive("missing", 1, 30, 0).error().kind, common::StoreErrorKind::NotFound);
  EXPECT_EQ(queues_->purge("missing").error().resource, "missing");
  EXPECT_EQ(queues_->delete_message("q", "no-such-handle").error().kind,
            common::StoreErrorKind::NotFound);
}

TEST_F(AsyncStoresTest, RedriveMovesOnlyDeadLettersIntoTheEventQueueAtomically) {
  ASSERT_TRUE(queues_->send("dlq", R"({"x":1})", json::object(), "fn", 0));
  ASSERT_TRUE(queues_->send("dlq", "record", json::object(), "", 0));
  int calls = 0;
  auto moved = queues_->drain_dead_letters("dlq", [&](const runtimed::QueueMessage& m) {
    ++calls;
    return events_->enqueue_locked(m.source_function, m.body, "new", 10);
  });
  ASSERT_TRUE(moved);
  EXPECT_EQ(*moved, 1);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(events_->backlog("fn")->queued, 1);
  EXPECT_EQ(queues_->list(0)->at(0).visible, 1) << "the destination record stays";
  // A failing hand-over leaves the dead letter where it was.
  ASSERT_TRUE(queues_->send("dlq", "{}", json::object(), "fn", 0));
  auto refused = queues_->drain_dead_letters(
      "dlq", [](const runtimed::QueueMessage&) -> std::expected<void, common::StoreError> {
        return std::unexpected(common::StoreError::internal("no"));
      });
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, common::StoreErrorKind::Internal);
  EXPECT_EQ(queues_->list(0)->at(0).visible, 2);
}

TEST(QueueArnTest, SqsAndLambdaArnsNameTheirTargets) {
  EXPECT_EQ(runtimed::sqs_queue_name("arn:aws:sqs:us-east-1:000000000000:dlq"), "dlq");
  EXPECT_FALSE(runtimed::sqs_queue_name("arn:aws:sns:us-east-1:000000000000:dlq"));
  EXPECT_FALSE(runtimed::sqs_queue_name("arn:aws:sqs:us-east-1:000000000000:bad/name"));
  EXPECT_EQ(runtimed::lambda_function_name("arn:aws:lambda:us-east-1:000000000000:function:f"),
            "f");
  EXPECT_EQ(
      runtimed::lambda_function_name("arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST"),
      "f");
  EXPECT_FALSE(runtimed::lambda_function_name("arn:aws:lambda:us-east-1:0:function:f:prod"));
}

}  // namespace
