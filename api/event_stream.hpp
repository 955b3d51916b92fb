// AWS's event stream encoding (application/vnd.amazon.eventstream), as InvokeWithResponseStream
// answers: each message is a prelude (total and header lengths, CRC-32), string headers, a
// payload and the whole message's CRC-32. SDKs check both CRCs.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace api {

// One message with these headers (all of type string) and payload.
std::string event_stream_message(
    const std::vector<std::pair<std::string_view, std::string_view>>& headers,
    std::string_view payload);

// An event message (":message-type: event") of `event_type`, its payload of `content_type`.
std::string event_stream_event(std::string_view event_type, std::string_view content_type,
                               std::string_view payload);

}  // namespace api
