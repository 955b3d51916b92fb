// The one reader of a FunctionName as Lambda's API takes it in a path: a name, a partial ARN or a
// full ARN, each with an optional qualifier. Every route that names a function resolves it here, so
// an ARN of another region or account is "not found" everywhere, never somebody else's function.
#pragma once

#include <expected>
#include <string>
#include <string_view>

#include "api/lambda_error.hpp"
#include "common/lambda_identity.hpp"

namespace api {

// Who this daemon is in ARNs: a FunctionName naming another region or account is not here.
using common::LambdaIdentity;

// Lambda's limits (API reference, FunctionName): a bare name is 1-64 of [A-Za-z0-9_-]; the whole
// value (an ARN) at most 140 characters; a qualifier ($LATEST, a version or an alias) 1-128.
inline constexpr size_t kMaxFunctionIdLength = 140;

// 1-64 of [A-Za-z0-9_-]: a bare function name as Lambda accepts it.
bool valid_function_name(std::string_view name);
using common::function_arn;
using common::function_not_found_message;

// `id` is the path's {FunctionName}, `query_qualifier` the ?Qualifier= (empty when absent).
// Accepted, as Lambda documents ("Name formats"):
//   NAME[:QUALIFIER]
//   ACCOUNT:function:NAME[:QUALIFIER]                       (partial ARN)
//   arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
// Answers the plain function name, or:
//   400 InvalidParameterValueException for a value that is none of these;
//   400 when the name's qualifier and ?Qualifier= disagree (Lambda's wording);
//   404 ResourceNotFoundException for another partition, region or account, and for any
//   qualifier but $LATEST (runtimed has no versions or aliases yet).
std::expected<std::string, ApiError> resolve_function_name(std::string_view id,
                                                           std::string_view query_qualifier,
                                                           const LambdaIdentity& identity);

}  // namespace api
