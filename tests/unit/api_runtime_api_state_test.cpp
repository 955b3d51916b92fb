// Unit tests of the Runtime API state machine: every transition and every refusal.
#include <gtest/gtest.h>

#include "api/runtime_api_state.hpp"

namespace api {
namespace {

// Brings a fresh machine to Invoking("r1").
RuntimeApiState invoking() {
  RuntimeApiState s;
  EXPECT_EQ(s.next_polled().value(), NextPoll::ParkInitDone);
  EXPECT_TRUE(s.event_delivered("r1").has_value());
  return s;
}

void expect_refusal(const auto& result, int status, const char* type) {
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().status, status);
  EXPECT_EQ(result.error().error_type, type);
  EXPECT_FALSE(result.error().message.empty());
}

TEST(RuntimeApiState, StartsInitializing) {
  RuntimeApiState s;
  EXPECT_EQ(s.state(), RuntimeState::Initializing);
  EXPECT_TRUE(s.request_id().empty());
}

TEST(RuntimeApiState, FirstNextEndsInitAndParks) {
  RuntimeApiState s;
  EXPECT_EQ(s.next_polled().value(), NextPoll::ParkInitDone);
  EXPECT_EQ(s.state(), RuntimeState::Idle);
}

TEST(RuntimeApiState, NextWhileIdleParksAgainWithoutEndingInitTwice) {
  RuntimeApiState s;
  (void)s.next_polled();
  EXPECT_EQ(s.next_polled().value(), NextPoll::Park);
  EXPECT_EQ(s.state(), RuntimeState::Idle);
}

TEST(RuntimeApiState, EventDeliveredFromIdleStartsInvocation) {
  RuntimeApiState s = invoking();
  EXPECT_EQ(s.state(), RuntimeState::Invoking);
  EXPECT_EQ(s.request_id(), "r1");
}

TEST(RuntimeApiState, EventDeliveredOutsideIdleIsRefused) {
  RuntimeApiState init;
  expect_refusal(init.event_delivered("r1"), 403, "InvalidStateTransition");
  EXPECT_EQ(init.state(), RuntimeState::Initializing);

  RuntimeApiState busy = invoking();
  expect_refusal(busy.event_delivered("r2"), 403, "InvalidStateTransition");
  EXPECT_EQ(busy.request_id(), "r1");
}

TEST(RuntimeApiState, EventWithEmptyIdIsRefused) {
  RuntimeApiState s;
  (void)s.next_polled();
  expect_refusal(s.event_delivered(""), 400, "InvalidRequestID");
  EXPECT_EQ(s.state(), RuntimeState::Idle);
}

TEST(RuntimeApiState, NextWhileInvokingResendsTheSameEvent) {
  RuntimeApiState s = invoking();
  EXPECT_EQ(s.next_polled().value(), NextPoll::Resend);
  EXPECT_EQ(s.state(), RuntimeState::Invoking);
  EXPECT_EQ(s.request_id(), "r1");
}

TEST(RuntimeApiState, ResponseForCurrentIdCompletesInvocation) {
  RuntimeApiState s = invoking();
  EXPECT_TRUE(s.response("r1").has_value());
  EXPECT_EQ(s.state(), RuntimeState::Responded);
}

TEST(RuntimeApiState, ErrorForCurrentIdCompletesInvocation) {
  RuntimeApiState s = invoking();
  EXPECT_TRUE(s.error("r1").has_value());
  EXPECT_EQ(s.state(), RuntimeState::Responded);
}

TEST(RuntimeApiState, ResponseForOtherIdIsInvalidRequestIdAndKeepsInvocation) {
  RuntimeApiState s = invoking();
  expect_refusal(s.response("nope"), 400, "InvalidRequestID");
  expect_refusal(s.error("nope"), 400, "InvalidRequestID");
  EXPECT_EQ(s.state(), RuntimeState::Invoking);
  EXPECT_TRUE(s.response("r1").has_value());
}

TEST(RuntimeApiState, SecondResultForSameIdIsInvalidStateTransition) {
  RuntimeApiState s = invoking();
  ASSERT_TRUE(s.response("r1").has_value());
  expect_refusal(s.response("r1"), 403, "InvalidStateTransition");
  expect_refusal(s.error("r1"), 403, "InvalidStateTransition");
  EXPECT_EQ(s.state(), RuntimeState::Responded);
}

TEST(RuntimeApiState, LateResultAfterNextPollIsStillInvalidStateTransition) {
  RuntimeApiState s = invoking();
  ASSERT_TRUE(s.response("r1").has_value());
  EXPECT_EQ(s.next_polled().value(), NextPoll::Park);
  expect_refusal(s.response("r1"), 403, "InvalidStateTransition");
  expect_refusal(s.response("r0"), 400, "InvalidRequestID");
  EXPECT_EQ(s.state(), RuntimeState::Idle);
}

TEST(RuntimeApiState, ResultBeforeAnyInvocationIsInvalidRequestId) {
  RuntimeApiState s;
  expect_refusal(s.response("r1"), 400, "InvalidRequestID");
  (void)s.next_polled();
  expect_refusal(s.error("r1"), 400, "InvalidRequestID");
}

TEST(RuntimeApiState, CheckResultDoesNotChangeState) {
  RuntimeApiState s = invoking();
  EXPECT_TRUE(s.check_result("r1").has_value());
  EXPECT_EQ(s.state(), RuntimeState::Invoking);
  EXPECT_TRUE(s.response("r1").has_value());
}

TEST(RuntimeApiState, ResponseThenNextStartsTheNextCycle) {
  RuntimeApiState s = invoking();
  ASSERT_TRUE(s.response("r1").has_value());
  EXPECT_EQ(s.next_polled().value(), NextPoll::Park);
  ASSERT_TRUE(s.event_delivered("r2").has_value());
  expect_refusal(s.response("r1"), 400, "InvalidRequestID");
  EXPECT_TRUE(s.response("r2").has_value());
}

TEST(RuntimeApiState, InitErrorOnlyDuringInit) {
  RuntimeApiState s;
  EXPECT_TRUE(s.init_error().has_value());
  EXPECT_EQ(s.state(), RuntimeState::InitFailed);
  expect_refusal(s.init_error(), 403, "InvalidStateTransition");

  RuntimeApiState after;
  (void)after.next_polled();
  expect_refusal(after.init_error(), 403, "InvalidStateTransition");
  EXPECT_EQ(after.state(), RuntimeState::Idle);

  RuntimeApiState busy = invoking();
  expect_refusal(busy.init_error(), 403, "InvalidStateTransition");
  EXPECT_EQ(busy.state(), RuntimeState::Invoking);
}

TEST(RuntimeApiState, AfterInitErrorEverythingIsRefused) {
  RuntimeApiState s;
  ASSERT_TRUE(s.init_error().has_value());
  expect_refusal(s.next_polled(), 403, "InvalidStateTransition");
  expect_refusal(s.event_delivered("r1"), 403, "InvalidStateTransition");
  expect_refusal(s.response("r1"), 403, "InvalidStateTransition");
  EXPECT_EQ(s.state(), RuntimeState::InitFailed);
}

TEST(RuntimeApiState, ClosedRefusesEverything) {
  RuntimeApiState s = invoking();
  s.close();
  EXPECT_EQ(s.state(), RuntimeState::Closed);
  expect_refusal(s.next_polled(), 403, "InvalidStateTransition");
  expect_refusal(s.response("r1"), 403, "InvalidStateTransition");
  expect_refusal(s.event_delivered("r2"), 403, "InvalidStateTransition");
  expect_refusal(s.init_error(), 403, "InvalidStateTransition");
}

TEST(RuntimeApiState, StateNamesAreDistinct) {
  EXPECT_STREQ(to_string(RuntimeState::Initializing), "Initializing");
  EXPECT_STREQ(to_string(RuntimeState::Invoking), "Invoking");
  EXPECT_STREQ(to_string(RuntimeState::Closed), "Closed");
}

}  // namespace
}  // namespace api
