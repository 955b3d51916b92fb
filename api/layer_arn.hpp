// Layer names and ARNs: "arn:aws:lambda:REGION:ACCOUNT:layer:NAME[:VERSION]".
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

#include "api/function_name.hpp"
#include "api/lambda_error.hpp"
#include "common/function_config.hpp"

namespace api {

// 1-64 of [a-zA-Z0-9-_] (Lambda's LayerName, its name form).
bool valid_layer_name(std::string_view name);

// A path's {LayerName}: a name, or the layer's ARN in this daemon's region and account (another's
// is 404 ResourceNotFoundException, as Lambda has no such layer here).
std::expected<std::string, ApiError> resolve_layer_name(std::string_view id,
                                                        const LambdaIdentity& identity);

// `name` may be account-scoped (common/account_scope.hpp): the ARN names its account.
std::string layer_arn(const LambdaIdentity& identity, std::string_view name);
std::string layer_version_arn(const LambdaIdentity& identity, std::string_view name,
                              int64_t version);

// One element of a function's Layers: a layer version ARN of this region and account → a
// LayerRef with arn, name and version set. Malformed is 400 InvalidParameterValueException;
// another region or account is the same 400 Lambda gives for a version that does not exist.
std::expected<common::LayerRef, ApiError> parse_layer_version_arn(std::string_view arn,
                                                                  const LambdaIdentity& identity);

}  // namespace api
