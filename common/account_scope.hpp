// Accounts kept apart by name: the daemon's own account (--account-id) keeps bare names, and any
// other account's functions, layers, queues, stacks and HTTP APIs are stored, scheduled, logged
// and measured as "ACCOUNT~name". '~' is in no Lambda function, layer, SQS queue or stack name, so
// one store, one controller and one set of queues hold every account, and nothing can name another
// account's resource: names from requests are scoped to the caller's account (api/function_name),
// and what goes out (names, ARNs) is unscoped again (docs/security.md, "Accounts").
#pragma once

#include <string>
#include <string_view>

namespace common {

inline constexpr char kAccountSeparator = '~';

// An internal name split: `account` is empty for the daemon's own account.
struct ScopedName {
  std::string_view account;
  std::string_view name;
};

// `name` within `account` ("" or the daemon's own: `name` itself).
std::string scoped_name(std::string_view account, std::string_view name);
ScopedName split_scoped_name(std::string_view internal);
// Whether an internal name belongs to `account` ("": the daemon's own).
bool in_account(std::string_view internal, std::string_view account);
// The name as its owner sees it.
inline std::string_view display_name(std::string_view internal) {
  return split_scoped_name(internal).name;
}

}  // namespace common
