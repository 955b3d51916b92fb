// The modes' comma lists (see bench_lists.hpp).
#include "runtimed/bench/bench_lists.hpp"

#include <charconv>
#include <cmath>
#include <sstream>

namespace runtimed::bench {

namespace {

std::vector<std::string> items(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream parts(list);
  std::string part;
  while (std::getline(parts, part, ',')) {
    const auto b = part.find_first_not_of(" \t");
    const auto e = part.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(part.substr(b, e - b + 1));
  }
  return out;
}

}  // namespace

std::expected<std::vector<double>, std::string> parse_gaps(const std::string& list) {
  std::vector<double> gaps;
  for (std::string item : items(list)) {
    const std::string written = item;
    double scale = 1;
    if (item.ends_with("ms")) {
      item.resize(item.size() - 2);
      scale = 0.001;
    } else if (item.ends_with('s')) {
      item.pop_back();
    } else if (item.ends_with('m')) {
      item.pop_back();
      scale = 60;
    } else if (item.ends_with('h')) {
      item.pop_back();
      scale = 3600;
    }
    double value = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (item.empty() || ec != std::errc() || end != item.data() + item.size() ||
        !std::isfinite(value) || value < 0)
      return std::unexpected("--gaps: '" + written + "' is not a duration (e.g. 500ms, 5s, 2m)");
    gaps.push_back(value * scale);
  }
  if (gaps.empty()) return std::unexpected("--gaps: no gaps given");
  return gaps;
}

std::expected<std::vector<int>, std::string> parse_sizes(const std::string& list) {
  std::vector<int> sizes;
  for (const std::string& item : items(list)) {
    int value = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (ec != std::errc() || end != item.data() + item.size() || value < 128 || value > 10240)
      return std::unexpected("--sizes: '" + item + "' is not a memory size in MB (128-10240)");
    sizes.push_back(value);
  }
  if (sizes.empty()) return std::unexpected("--sizes: no sizes given");
  return sizes;
}

}  // namespace runtimed::bench
