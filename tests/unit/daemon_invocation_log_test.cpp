// InvocationLog: a real pipe into a real FunctionLog, framed into START/END/REPORT.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "api/invoke_api.hpp"
#include "runtimed/controller/invocation_log.hpp"

namespace runtimed {
namespace {

class InvocationLogTest : public ::testing::Test {
 protected:
  InvocationLogTest()
      : dir_(std::filesystem::temp_directory_path() /
             ("invocation-log-test-" + std::to_string(::getpid()))),
        log_(std::make_shared<FunctionLog>(dir_, 1 << 20, 2)),
        output_(log_, "$LATEST") {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
    output_.attach_output(sandbox::UniqueFd(fds[0]));
    write_end_.reset(fds[1]);
  }
  ~InvocationLogTest() override { std::filesystem::remove_all(dir_); }

  void runtime_prints(std::string_view text) {
    ASSERT_EQ(::write(write_end_.get(), text.data(), text.size()),
              static_cast<ssize_t>(text.size()));
  }
  std::string text() {
    uint64_t offset = 0;
    return log_->read_from(offset, 1 << 20);
  }

  std::filesystem::path dir_;
  std::shared_ptr<FunctionLog> log_;
  InvocationLog output_;
  sandbox::UniqueFd write_end_;
};

TEST(EndAndReportLines, MatchLambdasFormat) {
  EXPECT_EQ(end_and_report_lines("r1", {.duration_ms = 1.234,
                                        .memory_size_mb = 128,
                                        .max_memory_used_mb = 42,
                                        .init_duration_ms = 55.5}),
            "END RequestId: r1\nREPORT RequestId: r1\tDuration: 1.23 ms\tBilled Duration: 2 ms\t"
            "Memory Size: 128 MB\tMax Memory Used: 42 MB\tInit Duration: 55.50 ms\t\n");
  EXPECT_EQ(end_and_report_lines("r2", {.duration_ms = 3, .memory_size_mb = 256}),
            "END RequestId: r2\nREPORT RequestId: r2\tDuration: 3.00 ms\tBilled Duration: 3 ms\t"
            "Memory Size: 256 MB\tMax Memory Used: 0 MB\t\n");
}

TEST_F(InvocationLogTest, InitOutputGoesBeforeStartAndTheInvocationsOutputBetweenStartAndEnd) {
  runtime_prints("init line\npartial");
  output_.pump();
  EXPECT_EQ(text(), "init line\n");  // the partial line waits for its end
  output_.start("r1", /*capture=*/true);
  runtime_prints("during\nno newline");
  output_.pump();
  const std::string tail = output_.end("r1", {.duration_ms = 1, .memory_size_mb = 128});
  const std::string report =
      "END RequestId: r1\nREPORT RequestId: r1\tDuration: 1.00 ms\tBilled Duration: 1 ms\t"
      "Memory Size: 128 MB\tMax Memory Used: 0 MB\t\n";
  EXPECT_EQ(
      text(),
      "init line\npartial\nSTART RequestId: r1 Version: $LATEST\nduring\nno newline\n" + report);
  EXPECT_EQ(tail, "START RequestId: r1 Version: $LATEST\nduring\nno newline\n" + report);
}

TEST_F(InvocationLogTest, WithoutCaptureEndReturnsNothing) {
  output_.start("r1", false);
  runtime_prints("x\n");
  EXPECT_EQ(output_.end("r1", {}), "");
  EXPECT_NE(text().find("x\n"), std::string::npos);
}

TEST_F(InvocationLogTest, TheCapturedTailIsBounded) {
  output_.start("r1", true);
  const std::string line(1000, 'a');
  for (int i = 0; i < 100; ++i) {
    runtime_prints(line + "\n");
    output_.pump();
  }
  const std::string tail = output_.end("r1", {});
  EXPECT_LE(tail.size(), 2 * api::kLogTailBytes + 1000);
  EXPECT_NE(tail.find("REPORT RequestId: r1"), std::string::npos);
}

TEST_F(InvocationLogTest, PlatformLinesGoStraightToTheLog) {
  output_.append_platform_line("RequestId: r1 Error: Task timed out after 1.00 seconds");
  EXPECT_EQ(text(), "RequestId: r1 Error: Task timed out after 1.00 seconds\n");
}

}  // namespace
}  // namespace runtimed
