// Percent-decoding of request targets: the path and the query string of a URL.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace api {

// Decodes %XX escapes; a malformed escape is kept as written. '+' stays '+' (paths).
std::string percent_decode(std::string_view in);

// Splits "a=1&b=x%20y&c" into decoded pairs; '+' means space here (form encoding).
std::multimap<std::string, std::string> parse_query(std::string_view query);

}  // namespace api
