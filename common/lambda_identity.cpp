#include "common/lambda_identity.hpp"

#include <fmt/format.h>

namespace common {

std::string function_arn(const LambdaIdentity& identity, std::string_view name) {
  return fmt::format("arn:aws:lambda:{}:{}:function:{}", identity.region, identity.account_id,
                     name);
}

std::string function_not_found_message(std::string_view arn) {
  return fmt::format("Function not found: {}", arn);
}

}  // namespace common
