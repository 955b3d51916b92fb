// The Runtime API's per-environment state machine: which runtime calls are allowed when. No I/O.
#pragma once

#include <expected>
#include <string>

namespace api {

enum class RuntimeState {
  Initializing,  // started, no /next yet
  Idle,          // a /next is parked, no event handed out
  Invoking,      // an event was handed out; its response or error is awaited
  Responded,     // the invocation is answered; the runtime has not polled /next again
  InitFailed,    // the runtime posted /runtime/init/error
  Closed,        // the environment is gone
};

const char* to_string(RuntimeState s);

// A refused transition, carrying the Runtime API's HTTP answer.
struct RuntimeApiRefusal {
  int status = 403;
  std::string error_type;  // "InvalidRequestID", "InvalidStateTransition", ...
  std::string message;
};

// What next_polled() tells the endpoint to do.
enum class NextPoll {
  Park,          // wait for an event (the first /next also ends init)
  ParkInitDone,  // the first /next: init finished, then wait for an event
  Resend,        // an invocation is outstanding: hand out the same event again
};

// Default deny: every transition not listed is refused and leaves the state as it was.
class RuntimeApiState {
 public:
  RuntimeState state() const { return state_; }
  // The invocation handed out last (current while Invoking), empty before the first.
  const std::string& request_id() const { return request_id_; }

  // GET /next. Initializing → Idle (ParkInitDone); Responded/Idle → Idle; Invoking → Resend.
  std::expected<NextPoll, RuntimeApiRefusal> next_polled();
  // An event is handed to the parked /next: Idle → Invoking(id).
  std::expected<void, RuntimeApiRefusal> event_delivered(const std::string& id);
  // Checks that a response or error for `id` would be accepted, without changing state; the
  // endpoint validates the request itself (size, mode) only after this.
  std::expected<void, RuntimeApiRefusal> check_result(const std::string& id) const;
  // POST …/{id}/response or …/{id}/error: Invoking(id) → Responded.
  std::expected<void, RuntimeApiRefusal> response(const std::string& id);
  std::expected<void, RuntimeApiRefusal> error(const std::string& id);
  // POST /runtime/init/error: Initializing → InitFailed.
  std::expected<void, RuntimeApiRefusal> init_error();
  // Environment shut down: any state → Closed.
  void close();

 private:
  RuntimeState state_ = RuntimeState::Initializing;
  std::string request_id_;
};

}  // namespace api
