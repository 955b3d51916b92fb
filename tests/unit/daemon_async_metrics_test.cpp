// The async queue's metrics on a real SQLite file: depth and oldest age read at scrape time (and
// gone once the queue empties), the bounded function label, and the dispatcher's counters.
#include <gtest/gtest.h>

#include <filesystem>
#include <optional>

#include "common/ids.hpp"
#include "runtimed/async/async_metrics.hpp"
#include "runtimed/async/async_policy.hpp"
#include "runtimed/async/async_queue.hpp"

namespace {

namespace fs = std::filesystem;

// The value of the sample whose name and labels are exactly `series`, if the text has it.
std::optional<double> sample(const std::string& text, const std::string& series) {
  const std::string prefix = "\n" + series + " ";
  const size_t at = ("\n" + text).find(prefix);
  if (at == std::string::npos) return std::nullopt;
  return std::stod(text.substr(at + prefix.size() - 1));
}

class AsyncMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("rt-async-metrics-" + common::random_hex(8));
    auto db = runtimed::StateDb::open(dir_);
    ASSERT_TRUE(db) << db.error();
    db_ = std::move(*db);
    events_ = std::make_unique<runtimed::AsyncQueue>(*db_);
  }
  void TearDown() override {
    events_.reset();
    db_.reset();
    fs::remove_all(dir_);
  }
  fs::path dir_;
  std::unique_ptr<runtimed::StateDb> db_;
  std::unique_ptr<runtimed::AsyncQueue> events_;
};

TEST_F(AsyncMetricsTest, DepthAndOldestAgeAreReadAtScrapeAndVanishWhenTheQueueEmpties) {
  common::metrics::Registry registry;
  runtimed::AsyncMetrics metrics(registry, 100, *events_);
  const int64_t now = runtimed::now_epoch_ms();
  ASSERT_TRUE(events_->enqueue("f", "{}", "r1", now - 30'000));
  ASSERT_TRUE(events_->enqueue("f", "{}", "r2", now - 10'000));
  ASSERT_TRUE(events_->enqueue("f", "{}", "r3", now - 5'000));
  ASSERT_TRUE(events_->enqueue("g", "{}", "r4", now - 2'000));
  auto claimed = events_->claim("f", 1, now, 3600, true);
  ASSERT_TRUE(claimed);
  ASSERT_EQ(claimed->size(), 1u);

  std::string text = registry.expose();
  EXPECT_EQ(sample(text, R"(runtimed_async_queue_depth{function="f",state="queued"})"), 2) << text;
  EXPECT_EQ(sample(text, R"(runtimed_async_queue_depth{function="f",state="in_flight"})"), 1);
  EXPECT_EQ(sample(text, R"(runtimed_async_queue_depth{function="g",state="queued"})"), 1);
  // The in-flight r1 is f's oldest unfinished event.
  const auto f_age = sample(text, R"(runtimed_async_oldest_event_age_seconds{function="f"})");
  ASSERT_TRUE(f_age) << text;
  EXPECT_GE(*f_age, 30);
  EXPECT_LT(*f_age, 60);
  const auto g_age = sample(text, R"(runtimed_async_oldest_event_age_seconds{function="g"})");
  ASSERT_TRUE(g_age);
  EXPECT_GE(*g_age, 2);
  EXPECT_LT(*g_age, 30);

  // Finished events leave no stale series behind.
  for (const auto& e : *claimed) {
    ASSERT_TRUE(db_->write([&] { return events_->remove_locked(e); }));
  }
  auto rest = events_->claim("f", 10, now, 3600, true);
  ASSERT_TRUE(rest);
  auto g_rest = events_->claim("g", 10, now, 3600, true);
  ASSERT_TRUE(g_rest);
  for (const auto& e : *rest) ASSERT_TRUE(db_->write([&] { return events_->remove_locked(e); }));
  text = registry.expose();
  EXPECT_FALSE(sample(text, R"(runtimed_async_queue_depth{function="f",state="queued"})"));
  EXPECT_FALSE(sample(text, R"(runtimed_async_queue_depth{function="f",state="in_flight"})"));
  EXPECT_FALSE(sample(text, R"(runtimed_async_oldest_event_age_seconds{function="f"})"));
  EXPECT_EQ(sample(text, R"(runtimed_async_queue_depth{function="g",state="in_flight"})"), 1);
}

TEST_F(AsyncMetricsTest, FunctionsBeyondTheLabelLimitAddUpUnderOther) {
  common::metrics::Registry registry;
  runtimed::AsyncMetrics metrics(registry, 1, *events_);
  const int64_t now = runtimed::now_epoch_ms();
  metrics.retry("first", "function_error");  // takes the one named label
  ASSERT_TRUE(events_->enqueue("first", "{}", "r1", now));
  ASSERT_TRUE(events_->enqueue("second", "{}", "r2", now - 20'000));
  ASSERT_TRUE(events_->enqueue("third", "{}", "r3", now - 40'000));
  const std::string text = registry.expose();
  EXPECT_EQ(sample(text, R"(runtimed_async_queue_depth{function="first",state="queued"})"), 1);
  EXPECT_EQ(sample(text, R"(runtimed_async_queue_depth{function="_other",state="queued"})"), 2)
      << text;
  const auto other_age =
      sample(text, R"(runtimed_async_oldest_event_age_seconds{function="_other"})");
  ASSERT_TRUE(other_age);
  EXPECT_GE(*other_age, 40) << "the oldest of the aggregated functions";
}

TEST_F(AsyncMetricsTest, DispatcherCountersCarryFunctionAndReason) {
  common::metrics::Registry registry;
  runtimed::AsyncMetrics metrics(registry, 100, *events_);
  metrics.retry("f", "function_error");
  metrics.retry("f", "function_error");
  metrics.retry("f", "throttled");
  metrics.destination_send("f", "dead_letter_queue");
  metrics.destination_send("f", "on_failure");
  metrics.expired("f");
  const std::string text = registry.expose();
  EXPECT_EQ(sample(text, R"(runtimed_async_retries_total{function="f",reason="function_error"})"),
            2);
  EXPECT_EQ(sample(text, R"(runtimed_async_retries_total{function="f",reason="throttled"})"), 1);
  EXPECT_EQ(
      sample(
          text,
          R"(runtimed_async_destination_sends_total{function="f",destination="dead_letter_queue"})"),
      1);
  EXPECT_EQ(
      sample(text,
             R"(runtimed_async_destination_sends_total{function="f",destination="on_failure"})"),
      1);
  EXPECT_EQ(sample(text, R"(runtimed_async_expired_events_total{function="f"})"), 1);
}

}  // namespace
