// Marker and MaxItems (see list_paging.hpp).
#include "api/list_paging.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace api {

std::expected<ListPaging, ApiError> parse_list_paging(const HttpRequest& request) {
  ListPaging paging;
  if (auto it = request.query.find("MaxItems"); it != request.query.end()) {
    const std::string& s = it->second;
    int n = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc() || end != s.data() + s.size() || n < 1 || n > kMaxListMaxItems)
      return std::unexpected(ApiError::invalid_parameter(
          fmt::format("1 validation error detected: Value '{}' at 'maxItems' failed to satisfy "
                      "constraint: Member must be an integer between 1 and {}",
                      s, kMaxListMaxItems)));
    paging.max_items = n;
  }
  if (auto it = request.query.find("Marker"); it != request.query.end() && !it->second.empty())
    paging.marker = it->second;
  return paging;
}

std::expected<PageWindow, ApiError> index_page(const ListPaging& paging, size_t total) {
  PageWindow window;
  if (paging.marker && !paging.marker->empty()) {
    const std::string& text = *paging.marker;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), window.begin);
    if (ec != std::errc() || end != text.data() + text.size() || window.begin > total)
      return std::unexpected(ApiError::invalid_parameter("Invalid marker: " + text));
  }
  window.end = std::min(total, window.begin + static_cast<size_t>(paging.max_items));
  if (window.end < total) window.next_marker = std::to_string(window.end);
  return window;
}

}  // namespace api
