// AWS's event stream encoding (see event_stream.hpp).
#include "api/event_stream.hpp"

#include <boost/crc.hpp>
#include <cstdint>
#include <stdexcept>

namespace api {
namespace {

constexpr uint8_t kStringHeader = 7;

void put_u32(std::string& out, uint32_t v) {
  out.push_back(static_cast<char>(v >> 24));
  out.push_back(static_cast<char>(v >> 16));
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}

uint32_t crc32(std::string_view bytes) {
  boost::crc_32_type crc;
  crc.process_bytes(bytes.data(), bytes.size());
  return crc.checksum();
}

}  // namespace

std::string event_stream_message(
    const std::vector<std::pair<std::string_view, std::string_view>>& headers,
    std::string_view payload) {
  std::string encoded_headers;
  for (const auto& [name, value] : headers) {
    if (name.size() > 255 || value.size() > 65535)
      throw std::invalid_argument("event stream header too long");
    encoded_headers.push_back(static_cast<char>(name.size()));
    encoded_headers += name;
    encoded_headers.push_back(static_cast<char>(kStringHeader));
    encoded_headers.push_back(static_cast<char>(value.size() >> 8));
    encoded_headers.push_back(static_cast<char>(value.size()));
    encoded_headers += value;
  }
  const size_t total = 12 + encoded_headers.size() + payload.size() + 4;
  std::string message;
  message.reserve(total);
  put_u32(message, static_cast<uint32_t>(total));
  put_u32(message, static_cast<uint32_t>(encoded_headers.size()));
  put_u32(message, crc32(message));
  message += encoded_headers;
  message += payload;
  put_u32(message, crc32(message));
  return message;
}

std::string event_stream_event(std::string_view event_type, std::string_view content_type,
                               std::string_view payload) {
  return event_stream_message(
      {{":event-type", event_type}, {":content-type", content_type}, {":message-type", "event"}},
      payload);
}

}  // namespace api
