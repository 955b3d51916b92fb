// The Runtime API's per-environment state machine: which runtime calls are allowed when. No I/O.
#include "api/runtime_api_state.hpp"

namespace api {
namespace {

std::unexpected<RuntimeApiRefusal> refuse(int status, const char* type, std::string message) {
  return std::unexpected(RuntimeApiRefusal{status, type, std::move(message)});
}

std::unexpected<RuntimeApiRefusal> invalid_transition(RuntimeState from, const char* what) {
  return refuse(
      403, "InvalidStateTransition",
      std::string("Transition from ") + to_string(from) + " to " + what + " is not allowed");
}

}  // namespace

const char* to_string(RuntimeState s) {
  switch (s) {
    case RuntimeState::Initializing:
      return "Initializing";
    case RuntimeState::Idle:
      return "Idle";
    case RuntimeState::Invoking:
      return "Invoking";
    case RuntimeState::Responded:
      return "Responded";
    case RuntimeState::InitFailed:
      return "InitFailed";
    case RuntimeState::Closed:
      return "Closed";
  }
  return "Unknown";
}

std::expected<NextPoll, RuntimeApiRefusal> RuntimeApiState::next_polled() {
  switch (state_) {
    case RuntimeState::Initializing:
      state_ = RuntimeState::Idle;
      return NextPoll::ParkInitDone;
    case RuntimeState::Idle:  // a runtime that reconnected and polls again
    case RuntimeState::Responded:
      state_ = RuntimeState::Idle;
      return NextPoll::Park;
    case RuntimeState::Invoking:  // RIE: the outstanding event is sent again
      return NextPoll::Resend;
    case RuntimeState::InitFailed:
    case RuntimeState::Closed:
      break;
  }
  return invalid_transition(state_, "Idle");
}

std::expected<void, RuntimeApiRefusal> RuntimeApiState::event_delivered(const std::string& id) {
  if (state_ != RuntimeState::Idle) return invalid_transition(state_, "Invoking");
  if (id.empty()) return refuse(400, "InvalidRequestID", "Empty request id");
  state_ = RuntimeState::Invoking;
  request_id_ = id;
  return {};
}

std::expected<void, RuntimeApiRefusal> RuntimeApiState::check_result(const std::string& id) const {
  switch (state_) {
    case RuntimeState::Invoking:
      if (id == request_id_) return {};
      break;
    case RuntimeState::Idle:
    case RuntimeState::Responded:
      // The invocation that just finished: a second answer is a state error, not a bad id.
      if (!request_id_.empty() && id == request_id_) {
        return invalid_transition(state_, "Responded");
      }
      break;
    case RuntimeState::Initializing:
      break;
    case RuntimeState::InitFailed:
    case RuntimeState::Closed:
      return invalid_transition(state_, "Responded");
  }
  return refuse(400, "InvalidRequestID", "Invalid request ID: \"" + id + "\"");
}

std::expected<void, RuntimeApiRefusal> RuntimeApiState::response(const std::string& id) {
  auto ok = check_result(id);
  if (!ok) return ok;
  state_ = RuntimeState::Responded;
  return {};
}

std::expected<void, RuntimeApiRefusal> RuntimeApiState::error(const std::string& id) {
  return response(id);
}

std::expected<void, RuntimeApiRefusal> RuntimeApiState::init_error() {
  if (state_ != RuntimeState::Initializing) return invalid_transition(state_, "InitFailed");
  state_ = RuntimeState::InitFailed;
  return {};
}

void RuntimeApiState::close() { state_ = RuntimeState::Closed; }

}  // namespace api
