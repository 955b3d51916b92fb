// The table of Lambda's REST routes that runtimed does not implement (see lambda_routes.hpp).
// Source: the Lambda API reference, one request-syntax line per operation. Implemented routes
// (functions, code, configuration, invocations, concurrency, event-invoke-config, account
// settings) are not here: their own APIs answer them.
#include "api/lambda_routes.hpp"

#include <array>

namespace api {

namespace {

struct Route {
  std::string_view method;
  std::string_view pattern;  // "{}" matches one non-empty segment, a final "{+}" the rest
  std::string_view operation;
};

constexpr auto kUnimplemented = std::to_array<Route>({
    // Resource-based policy.
    {"POST", "/2015-03-31/functions/{}/policy", "AddPermission"},
    {"GET", "/2015-03-31/functions/{}/policy", "GetPolicy"},
    {"DELETE", "/2015-03-31/functions/{}/policy/{}", "RemovePermission"},
    // Layer permissions.
    {"GET", "/2018-10-31/layers/{}/versions/{}/policy", "GetLayerVersionPolicy"},
    {"POST", "/2018-10-31/layers/{}/versions/{}/policy", "AddLayerVersionPermission"},
    {"DELETE", "/2018-10-31/layers/{}/versions/{}/policy/{}", "RemoveLayerVersionPermission"},
    // Code signing.
    {"POST", "/2020-04-22/code-signing-configs", "CreateCodeSigningConfig"},
    {"GET", "/2020-04-22/code-signing-configs", "ListCodeSigningConfigs"},
    {"GET", "/2020-04-22/code-signing-configs/{}", "GetCodeSigningConfig"},
    {"PUT", "/2020-04-22/code-signing-configs/{}", "UpdateCodeSigningConfig"},
    {"DELETE", "/2020-04-22/code-signing-configs/{}", "DeleteCodeSigningConfig"},
    {"GET", "/2020-04-22/code-signing-configs/{}/functions", "ListFunctionsByCodeSigningConfig"},
    {"PUT", "/2020-06-30/functions/{}/code-signing-config", "PutFunctionCodeSigningConfig"},
    {"GET", "/2020-06-30/functions/{}/code-signing-config", "GetFunctionCodeSigningConfig"},
    {"DELETE", "/2020-06-30/functions/{}/code-signing-config", "DeleteFunctionCodeSigningConfig"},
    // Recursion and runtime management.
    {"GET", "/2024-08-31/functions/{}/recursion-config", "GetFunctionRecursionConfig"},
    {"PUT", "/2024-08-31/functions/{}/recursion-config", "PutFunctionRecursionConfig"},
    {"GET", "/2021-07-20/functions/{}/runtime-management-config", "GetRuntimeManagementConfig"},
    {"PUT", "/2021-07-20/functions/{}/runtime-management-config", "PutRuntimeManagementConfig"},
    // Other invocation styles and listings.
    {"POST", "/2014-11-13/functions/{}/invoke-async", "InvokeAsync"},
});

// Next '/'-separated segment of `s` (consumed), or nullopt at the end.
std::optional<std::string_view> next_segment(std::string_view& s) {
  if (s.empty()) return std::nullopt;
  const size_t slash = s.find('/');
  const std::string_view seg = s.substr(0, slash);
  s = slash == std::string_view::npos ? std::string_view{} : s.substr(slash + 1);
  return seg;
}

bool matches(std::string_view pattern, std::string_view path) {
  pattern.remove_prefix(1);  // both start with '/'
  path.remove_prefix(1);
  while (auto want = next_segment(pattern)) {
    if (*want == "{+}") return !path.empty();
    auto got = next_segment(path);
    if (!got || got->empty()) return false;
    if (*want != "{}" && *want != *got) return false;
  }
  return path.empty();
}

}  // namespace

std::optional<std::string_view> unimplemented_operation(std::string_view method,
                                                        std::string_view path) {
  if (!path.starts_with('/')) return std::nullopt;
  // "/2015-03-31/event-source-mappings/" is the documented spelling of some collection routes.
  if (path.size() > 1 && path.ends_with('/')) path.remove_suffix(1);
  for (const Route& r : kUnimplemented)
    if (r.method == method && matches(r.pattern, path)) return r.operation;
  return std::nullopt;
}

}  // namespace api
