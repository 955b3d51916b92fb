// A function's tags as Lambda validates them (CreateFunction's Tags, TagResource): at most 50,
// keys 1-128 characters and not starting with "aws:", values at most 256 characters.
#pragma once

#include <expected>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "api/lambda_error.hpp"

namespace api {

inline constexpr size_t kMaxTagsPerResource = 50;
inline constexpr size_t kMaxTagKeyLength = 128;
inline constexpr size_t kMaxTagValueLength = 256;

// {"k": "v", …} → the validated map (InvalidParameterValueException in Lambda's words otherwise).
std::expected<std::map<std::string, std::string>, ApiError> parse_tags(const nlohmann::json& tags);
// One key of UntagResource's tagKeys.
std::expected<void, ApiError> check_tag_key(std::string_view key);
// After a TagResource merges `added` into `existing`: refuses more than 50 tags.
std::expected<void, ApiError> check_tag_count(size_t count);

}  // namespace api
