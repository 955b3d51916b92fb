// The one reader of a FunctionName as Lambda's API takes it in a path: a name, a partial ARN or a
// full ARN, each with an optional qualifier. Every route that names a function resolves it here, so
// an ARN of another region or account is "not found" everywhere, never somebody else's function.
#pragma once

#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include "api/http_types.hpp"
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

// A FunctionName resolved to this daemon's function and the qualifier it names, if any
// ($LATEST, a version number or an alias name), taken from the name or from ?Qualifier=.
struct QualifiedFunctionName {
  std::string name;
  std::optional<std::string> qualifier;  // nullopt: unqualified (Lambda treats it as $LATEST)
};

// A published version's qualifier: 1-1024 decimal digits (Lambda's Version pattern, [0-9]+);
// any other qualifier but $LATEST names an alias.
bool is_version_qualifier(std::string_view qualifier);

// `id` is the path's {FunctionName}, `query_qualifier` the ?Qualifier= (empty when absent).
// Accepted, as Lambda documents ("Name formats"):
//   NAME[:QUALIFIER]
//   ACCOUNT:function:NAME[:QUALIFIER]                       (partial ARN)
//   arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
// Answers the function name and its qualifier, or:
//   400 InvalidParameterValueException for a value that is none of these;
//   400 when the name's qualifier and ?Qualifier= disagree (Lambda's wording);
//   404 ResourceNotFoundException for another partition, region or account.
// Whether the qualifier's version or alias exists is the caller's question (the catalog's).
std::expected<QualifiedFunctionName, ApiError> resolve_qualified_function_name(
    std::string_view id, std::string_view query_qualifier, const LambdaIdentity& identity);

// resolve_qualified_function_name for routes that act on the unpublished function only: any
// qualifier but $LATEST is 404 ResourceNotFoundException naming the qualified ARN.
std::expected<std::string, ApiError> resolve_function_name(std::string_view id,
                                                           std::string_view query_qualifier,
                                                           const LambdaIdentity& identity);

// Who a request acts as: the daemon's region and the caller's account (HttpRequest::account),
// else the daemon's own.
LambdaIdentity caller_identity(const LambdaIdentity& daemon, const HttpRequest& request);

// The two above for `request`'s caller: an ARN must name the caller's account, and the name
// answered is scoped to it (common/account_scope.hpp). Every route that names a function from a
// request resolves it through these.
std::expected<QualifiedFunctionName, ApiError> resolve_for_caller(std::string_view id,
                                                                  std::string_view query_qualifier,
                                                                  const HttpRequest& request,
                                                                  const LambdaIdentity& daemon);
std::expected<std::string, ApiError> resolve_name_for_caller(std::string_view id,
                                                             std::string_view query_qualifier,
                                                             const HttpRequest& request,
                                                             const LambdaIdentity& daemon);

}  // namespace api
