// Who this daemon is in ARNs, and the one formatter of a function's ARN.
#pragma once

#include <string>
#include <string_view>

namespace common {

struct LambdaIdentity {
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
};

// "arn:aws:lambda:REGION:ACCOUNT:function:NAME"
std::string function_arn(const LambdaIdentity& identity, std::string_view name);

// Lambda's ResourceNotFoundException message for a function: "Function not found: ARN".
std::string function_not_found_message(std::string_view arn);

}  // namespace common
