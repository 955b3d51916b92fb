// The comma lists the bench's modes take: idle gaps ("0s,1s,500ms,2m") and memory sizes
// ("128,256,512").
#pragma once

#include <expected>
#include <string>
#include <vector>

namespace runtimed::bench {

// Durations in seconds; each is a number with ms, s, m or h (a bare number is seconds).
std::expected<std::vector<double>, std::string> parse_gaps(const std::string& list);
// Memory sizes in MB, each within Lambda's 128–10240.
std::expected<std::vector<int>, std::string> parse_sizes(const std::string& list);

}  // namespace runtimed::bench
