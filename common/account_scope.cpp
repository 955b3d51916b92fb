#include "common/account_scope.hpp"

namespace common {

std::string scoped_name(std::string_view account, std::string_view name) {
  if (account.empty()) return std::string(name);
  std::string out;
  out.reserve(account.size() + 1 + name.size());
  out.append(account).push_back(kAccountSeparator);
  out.append(name);
  return out;
}

ScopedName split_scoped_name(std::string_view internal) {
  const size_t at = internal.find(kAccountSeparator);
  if (at == std::string_view::npos) return {{}, internal};
  return {internal.substr(0, at), internal.substr(at + 1)};
}

bool in_account(std::string_view internal, std::string_view account) {
  return split_scoped_name(internal).account == account;
}

}  // namespace common
