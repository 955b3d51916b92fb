// Which headers a forward never relays (RFC 9110 §7.6.1): both peer clients (Beast and httplib)
// filter with this one list.
#pragma once

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

namespace runtimed {

// Headers about one connection, not the message: never relayed either way (the server and client
// at each hop write their own Content-Length and Connection).
inline bool hop_by_hop(std::string_view name) {
  static constexpr std::array<std::string_view, 8> kHopByHop = {
      "connection", "keep-alive", "transfer-encoding", "content-length", "te",
      "upgrade",    "expect",     "proxy-connection"};
  return std::ranges::any_of(kHopByHop, [name](std::string_view h) {
    return name.size() == h.size() &&
           std::equal(name.begin(), name.end(), h.begin(), [](char a, char b) {
             return std::tolower(static_cast<unsigned char>(a)) == b;
           });
  });
}

}  // namespace runtimed
