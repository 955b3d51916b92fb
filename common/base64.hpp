// Base64 (RFC 4648, padded), as the Lambda API carries zips, client contexts and log tails.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace common {

std::string base64_encode(std::string_view bytes);
// Strict: the length must be a multiple of 4 and only the alphabet and trailing '=' may appear;
// anything else is nullopt rather than a best-effort guess.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace common
