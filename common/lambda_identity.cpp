#include "common/lambda_identity.hpp"

#include <fmt/format.h>

#include "common/account_scope.hpp"

namespace common {

std::string function_arn(const LambdaIdentity& identity, std::string_view name) {
  const ScopedName scoped = split_scoped_name(name);
  return fmt::format(
      "arn:aws:lambda:{}:{}:function:{}", identity.region,
      scoped.account.empty() ? std::string_view(identity.account_id) : scoped.account, scoped.name);
}

std::string_view account_of(const LambdaIdentity& identity, std::string_view internal) {
  const ScopedName scoped = split_scoped_name(internal);
  return scoped.account.empty() ? std::string_view(identity.account_id) : scoped.account;
}

std::string function_not_found_message(std::string_view arn) {
  return fmt::format("Function not found: {}", arn);
}

}  // namespace common
