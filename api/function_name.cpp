// FunctionName resolution (see function_name.hpp).
#include "api/function_name.hpp"

#include <fmt/format.h>

#include <cctype>
#include <optional>
#include <utility>
#include <vector>

#include "common/account_scope.hpp"
#include "common/function_config.hpp"

namespace api {

bool valid_function_name(std::string_view name) {
  if (name.empty() || name.size() > common::kMaxFunctionNameLength) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  return true;
}

namespace {

bool valid_qualifier(std::string_view q) {
  if (q == "$LATEST") return true;
  if (q.empty() || q.size() > 128) return false;
  for (char c : q)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  return true;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

// Lambda's pattern for the partition: aws[a-zA-Z-]* (aws, aws-cn, aws-us-gov).
bool valid_partition(std::string_view p) {
  if (!p.starts_with("aws")) return false;
  for (char c : p.substr(3))
    if (!std::isalpha(static_cast<unsigned char>(c)) && c != '-') return false;
  return true;
}

// Lambda's pattern for a region: [a-z]{2}(-gov)?-[a-z]+-\d{1}.
bool valid_region(std::string_view r) {
  if (r.size() < 6 || !std::islower(static_cast<unsigned char>(r[0])) ||
      !std::islower(static_cast<unsigned char>(r[1])) || r[2] != '-')
    return false;
  std::string_view rest = r.substr(3);
  if (rest.starts_with("gov-")) rest.remove_prefix(4);
  const size_t dash = rest.rfind('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 2 != rest.size() ||
      !std::isdigit(static_cast<unsigned char>(rest.back())))
    return false;
  for (char c : rest.substr(0, dash))
    if (!std::islower(static_cast<unsigned char>(c))) return false;
  return true;
}

std::vector<std::string_view> split_colons(std::string_view s) {
  std::vector<std::string_view> parts;
  while (true) {
    const size_t colon = s.find(':');
    parts.push_back(s.substr(0, colon));
    if (colon == std::string_view::npos) return parts;
    s.remove_prefix(colon + 1);
  }
}

ApiError bad_function_name(std::string_view id) {
  // Lambda's own message for a FunctionName that fails its pattern.
  return ApiError::invalid_parameter(fmt::format(
      "1 validation error detected: Value '{}' at 'functionName' failed to satisfy constraint: "
      "Member must satisfy regular expression pattern: "
      "(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{{2}}(-gov)?-[a-z]+-\\d{{1}}:)?(\\d{{12}}:)?"
      "(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?",
      id));
}

}  // namespace

bool is_version_qualifier(std::string_view qualifier) {
  return qualifier.size() <= 1024 && all_digits(qualifier);
}

std::expected<QualifiedFunctionName, ApiError> resolve_qualified_function_name(
    std::string_view id, std::string_view query_qualifier, const LambdaIdentity& identity) {
  if (id.empty() || id.size() > kMaxFunctionIdLength) return std::unexpected(bad_function_name(id));
  const auto parts = split_colons(id);
  std::string_view name;
  std::optional<std::string_view> qualifier, partition, region, account;
  switch (parts.size()) {
    case 1:  // NAME
    case 2:  // NAME:QUALIFIER
      name = parts[0];
      if (parts.size() == 2) qualifier = parts[1];
      break;
    case 3:
    case 4:  // ACCOUNT:function:NAME[:QUALIFIER]
      if (parts[1] != "function" || !all_digits(parts[0]) || parts[0].size() != 12)
        return std::unexpected(bad_function_name(id));
      account = parts[0], name = parts[2];
      if (parts.size() == 4) qualifier = parts[3];
      break;
    case 7:
    case 8:  // arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
      if (parts[0] != "arn" || !valid_partition(parts[1]) || parts[2] != "lambda" ||
          !valid_region(parts[3]) || parts[4].size() != 12 || !all_digits(parts[4]) ||
          parts[5] != "function")
        return std::unexpected(bad_function_name(id));
      partition = parts[1], region = parts[3], account = parts[4], name = parts[6];
      if (parts.size() == 8) qualifier = parts[7];
      break;
    default:
      return std::unexpected(bad_function_name(id));
  }
  if (!valid_function_name(name) || (qualifier && !valid_qualifier(*qualifier)))
    return std::unexpected(bad_function_name(id));

  if (!query_qualifier.empty()) {
    if (!valid_qualifier(query_qualifier)) return std::unexpected(bad_function_name(id));
    if (qualifier && *qualifier != query_qualifier)
      return std::unexpected(ApiError::invalid_parameter(
          "The derived qualifier from the function name does not match the specified "
          "qualifier."));
    qualifier = query_qualifier;
  }
  // Another partition's, region's or account's function is not on this daemon.
  if ((partition && *partition != "aws") || (region && *region != identity.region) ||
      (account && *account != identity.account_id))
    return std::unexpected(ApiError::not_found(function_not_found_message(id)));
  QualifiedFunctionName resolved{std::string(name), std::nullopt};
  if (qualifier) resolved.qualifier = std::string(*qualifier);
  return resolved;
}

std::expected<std::string, ApiError> resolve_function_name(std::string_view id,
                                                           std::string_view query_qualifier,
                                                           const LambdaIdentity& identity) {
  auto resolved = resolve_qualified_function_name(id, query_qualifier, identity);
  if (!resolved) return std::unexpected(std::move(resolved.error()));
  if (resolved->qualifier && *resolved->qualifier != "$LATEST")
    return std::unexpected(ApiError::not_found(function_not_found_message(
        fmt::format("{}:{}", function_arn(identity, resolved->name), *resolved->qualifier))));
  return std::move(resolved->name);
}

LambdaIdentity caller_identity(const LambdaIdentity& daemon, const HttpRequest& request) {
  return {daemon.region, request.account.empty() ? daemon.account_id : request.account};
}

std::expected<QualifiedFunctionName, ApiError> resolve_for_caller(std::string_view id,
                                                                  std::string_view query_qualifier,
                                                                  const HttpRequest& request,
                                                                  const LambdaIdentity& daemon) {
  auto resolved =
      resolve_qualified_function_name(id, query_qualifier, caller_identity(daemon, request));
  if (resolved) resolved->name = common::scoped_name(request.account, resolved->name);
  return resolved;
}

std::expected<std::string, ApiError> resolve_name_for_caller(std::string_view id,
                                                             std::string_view query_qualifier,
                                                             const HttpRequest& request,
                                                             const LambdaIdentity& daemon) {
  auto resolved = resolve_function_name(id, query_qualifier, caller_identity(daemon, request));
  if (resolved) *resolved = common::scoped_name(request.account, *resolved);
  return resolved;
}

}  // namespace api
