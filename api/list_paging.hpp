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

}  // namespace api
