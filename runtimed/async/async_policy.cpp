// Retry, backoff and record arithmetic of asynchronous invocation (see async_policy.hpp).
#include "runtimed/async/async_policy.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace runtimed {

using nlohmann::json;

std::expected<std::vector<std::chrono::milliseconds>, std::string> parse_retry_delays(
    std::string_view text) {
  std::vector<std::chrono::milliseconds> delays;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    int64_t seconds = -1;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), seconds);
    if (ec != std::errc() || end != item.data() + item.size() || seconds < 0 || seconds > 86400)
      return std::unexpected(fmt::format("bad retry delay '{}': want whole seconds 0-86400", item));
    delays.emplace_back(std::chrono::seconds(seconds));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  if (delays.empty()) return std::unexpected(std::string("retry delays: give at least one value"));
  return delays;
}

std::chrono::milliseconds retry_delay(const AsyncPolicy& policy, int function_errors) {
  if (policy.retry_delays.empty()) return std::chrono::milliseconds(0);
  const size_t i = static_cast<size_t>(std::max(function_errors, 1) - 1);
  return policy.retry_delays[std::min(i, policy.retry_delays.size() - 1)];
}

std::chrono::milliseconds throttle_backoff(const AsyncPolicy& policy, int throttles) {
  auto delay = policy.initial_backoff;
  for (int i = 1; i < throttles && delay < policy.max_backoff; ++i) delay *= 2;
  return std::min(delay, policy.max_backoff);
}

int64_t next_attempt_ms(int64_t now_ms, std::chrono::milliseconds delay, int64_t expiry) {
  return std::min(now_ms + delay.count(), expiry);
}

std::string_view condition_name(FailureCondition condition) {
  return condition == FailureCondition::RetriesExhausted ? "RetriesExhausted" : "EventAgeExceeded";
}

std::string error_message_of(std::string_view error_payload) {
  auto parsed = json::parse(error_payload, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_object()) {
    auto it = parsed.find("errorMessage");
    if (it != parsed.end() && it->is_string()) return it->get<std::string>();
  }
  return std::string(error_payload);
}

json dead_letter_attributes(const std::string& request_id, int error_code, std::string_view error) {
  std::string message(error.substr(0, kDeadLetterErrorMessageBytes));
  // Do not cut a UTF-8 sequence in half: drop a trailing partial character.
  size_t cut = message.size();
  while (cut > 0 && (static_cast<unsigned char>(message[cut - 1]) & 0xC0) == 0x80) --cut;
  if (cut > 0 && static_cast<unsigned char>(message[cut - 1]) >= 0xC0) {
    const unsigned char lead = static_cast<unsigned char>(message[cut - 1]);
    const size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
    if (message.size() - (cut - 1) < need) message.resize(cut - 1);
  }
  return {
      {"RequestID", {{"DataType", "String"}, {"StringValue", request_id}}},
      {"ErrorCode", {{"DataType", "Number"}, {"StringValue", std::to_string(error_code)}}},
      {"ErrorMessage", {{"DataType", "String"}, {"StringValue", message}}},
  };
}

namespace {

// A payload as JSON when it is JSON, else as a string.
json as_json(const std::string& text) {
  auto parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  return parsed.is_discarded() ? json(text) : parsed;
}

}  // namespace

json destination_record(const DestinationRecord& r) {
  const auto ms = std::chrono::time_point_cast<std::chrono::milliseconds>(r.timestamp);
  json record = {
      {"version", "1.0"},
      {"timestamp", fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03d}Z",
                                fmt::gmtime(std::chrono::system_clock::to_time_t(ms)),
                                static_cast<int>(ms.time_since_epoch().count() % 1000))},
      {"requestContext",
       {{"requestId", r.request_id},
        {"functionArn", r.function_arn + ":" + r.qualifier},
        {"condition", r.condition},
        {"approximateInvokeCount", r.approximate_invoke_count}}},
      {"requestPayload", as_json(r.request_payload)},
      {"responseContext", {{"statusCode", r.status_code}, {"executedVersion", r.executed_version}}},
  };
  if (r.function_error) record["responseContext"]["functionError"] = "Unhandled";
  if (!r.response.empty()) record["responsePayload"] = as_json(r.response);
  return record;
}

int64_t now_epoch_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace runtimed
