// The paging query of Lambda's List operations: ?Marker= and ?MaxItems=.
#pragma once

#include <expected>
#include <optional>
#include <string>

#include "api/http_types.hpp"
#include "api/lambda_error.hpp"

namespace api {

inline constexpr int kDefaultListMaxItems = 50;
inline constexpr int kMaxListMaxItems = 10000;

struct ListPaging {
  std::optional<std::string> marker;  // absent or empty: from the start
  int max_items = kDefaultListMaxItems;
};

// MaxItems must be an integer in [1, kMaxListMaxItems] (else 400 InvalidParameterValueException).
std::expected<ListPaging, ApiError> parse_list_paging(const HttpRequest& request);

// One page of a list read whole (items [begin, end) of `total`), for a List whose Marker is the
// index to continue from; `next_marker` is set when items remain. A marker that is not such an
// index is 400 InvalidParameterValueException.
struct PageWindow {
  size_t begin = 0;
  size_t end = 0;
  std::optional<std::string> next_marker;
};
std::expected<PageWindow, ApiError> index_page(const ListPaging& paging, size_t total);

}  // namespace api
