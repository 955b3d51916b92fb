// Who this daemon is in ARNs, and the one formatter of a function's ARN.
#pragma once

#include <string>
#include <string_view>

namespace common {

struct LambdaIdentity {
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
};

// "arn:aws:lambda:REGION:ACCOUNT:function:NAME"; NAME may be an account-scoped internal name
// (account_scope.hpp), whose account the ARN then names.
std::string function_arn(const LambdaIdentity& identity, std::string_view name);
// The account an internal name belongs to (the daemon's own for a bare name).
std::string_view account_of(const LambdaIdentity& identity, std::string_view internal);

// Lambda's ResourceNotFoundException message for a function: "Function not found: ARN".
std::string function_not_found_message(std::string_view arn);

}  // namespace common
