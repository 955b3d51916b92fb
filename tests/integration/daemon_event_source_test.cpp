// SQS event source mappings from local queues against the real daemon, driven by boto3
// (tests/integration/clients/boto3_event_source_mappings.py): explicit queues with a redrive
// policy, batches to a python consumer that reports item failures, Disabled, Delete.
#include <gtest/gtest.h>

#include "tests/integration/daemon_test.hpp"

namespace {

class DaemonEventSourceTest : public testsupport::DaemonTest {
 protected:
  testsupport::TempDir scratch_{"rt-esm"};
};

TEST_F(DaemonEventSourceTest, Boto3MapsAQueueToAFunctionThatReportsItemFailures) {
  start();
  const auto run = testsupport::run_client_script(
      "boto3_event_source_mappings.py", {"http://127.0.0.1:" + std::to_string(daemon_->port())},
      scratch_.path());
  EXPECT_EQ(run.status, 0) << run << daemon_->daemon_log();
  EXPECT_NE(run.out.find("ok\n"), std::string::npos) << run;
}

}  // namespace
