// The arithmetic of asynchronous invocation: when a failed event runs again, when it has spent its
// retries or its age, and what a dead-letter message and a destination record contain.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace runtimed {

inline constexpr int kDefaultMaximumRetryAttempts = 2;
inline constexpr int kDefaultMaximumEventAgeS = 21600;
inline constexpr size_t kDeadLetterErrorMessageBytes = 1024;

struct AsyncPolicy {
  // Delay before the 2nd, 3rd… attempt after a function error (Lambda: about 1 min, then 2 min).
  std::vector<std::chrono::milliseconds> retry_delays{std::chrono::seconds(60),
                                                      std::chrono::seconds(120)};
  // Throttles and platform errors: initial, doubling up to max.
  std::chrono::milliseconds initial_backoff{1000};
  std::chrono::milliseconds max_backoff{5 * 60 * 1000};
};

// "60,120" → {60 s, 120 s}; every value a whole number of seconds ≥ 0.
std::expected<std::vector<std::chrono::milliseconds>, std::string> parse_retry_delays(
    std::string_view text);

// The delay after the n-th function error (n ≥ 1); past the list's end its last value.
std::chrono::milliseconds retry_delay(const AsyncPolicy& policy, int function_errors);
// The delay after the n-th throttle or platform error (n ≥ 1): initial·2^(n-1), capped.
std::chrono::milliseconds throttle_backoff(const AsyncPolicy& policy, int throttles);
// n function errors have spent a budget of `maximum_retry_attempts` retries.
inline bool retries_exhausted(int function_errors, int maximum_retry_attempts) {
  return function_errors > maximum_retry_attempts;
}
// When an event enqueued at `enqueued_ms` is too old to run.
inline int64_t expiry_ms(int64_t enqueued_ms, int maximum_event_age_s) {
  return enqueued_ms + int64_t{maximum_event_age_s} * 1000;
}
// The next attempt: after `delay`, but never later than the expiry (which then ends the event).
int64_t next_attempt_ms(int64_t now_ms, std::chrono::milliseconds delay, int64_t expiry);

enum class FailureCondition { RetriesExhausted, EventAgeExceeded };
std::string_view condition_name(FailureCondition condition);

// A dead-letter message's attributes, SQS-style: RequestID (String), ErrorCode (Number, the HTTP
// status), ErrorMessage (String, the first 1 KB of the error).
nlohmann::json dead_letter_attributes(const std::string& request_id, int error_code,
                                      std::string_view error);
// The text of an error payload a DLQ carries: its errorMessage when it is Lambda's error object.
std::string error_message_of(std::string_view error_payload);

// Lambda's destination record. `response` is the function's response or error payload (may be
// empty); `function_error` marks it as an error ("Unhandled").
struct DestinationRecord {
  std::string request_id;
  std::string function_arn;           // unqualified
  std::string qualifier = "$LATEST";  // the one it was invoked with: the record's ARN names it
  std::string executed_version = "$LATEST";  // the version that ran
  std::string condition;                     // "Success", "RetriesExhausted", "EventAgeExceeded"
  int approximate_invoke_count = 0;
  std::string request_payload;
  int status_code = 200;
  bool function_error = false;
  std::string response;
  std::chrono::system_clock::time_point timestamp;
};
nlohmann::json destination_record(const DestinationRecord& record);

// Epoch milliseconds of the system clock.
int64_t now_epoch_ms();

}  // namespace runtimed
