// Alias routing validation and the per-thread draw (see alias_routing.hpp).
#include "api/alias_routing.hpp"

#include <fmt/format.h>

#include <random>

#include "api/function_name.hpp"

namespace api {

std::expected<AliasRouting, ApiError> make_alias_routing(
    const std::string& function_version, const std::map<std::string, double>& additional_weights) {
  if (function_version != "$LATEST" && !is_version_qualifier(function_version))
    return std::unexpected(ApiError::invalid_parameter(fmt::format(
        "1 validation error detected: Value '{}' at 'functionVersion' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: (\\$LATEST|[0-9]+)",
        function_version)));
  AliasRouting routing{function_version, std::nullopt, 0.0};
  if (additional_weights.empty()) return routing;
  if (additional_weights.size() > 1)
    return std::unexpected(ApiError::invalid_parameter(
        "Number of items in AdditionalVersionWeights cannot be greater than 1"));
  if (function_version == "$LATEST")
    return std::unexpected(ApiError::invalid_parameter(
        "$LATEST is not supported for an alias pointing to more than 1 version"));
  const auto& [version, weight] = *additional_weights.begin();
  if (!is_version_qualifier(version))
    return std::unexpected(ApiError::invalid_parameter(fmt::format(
        "1 validation error detected: Value '{}' at 'routingConfig.additionalVersionWeights' "
        "failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy "
        "regular expression pattern: [0-9]+]",
        version)));
  if (!(weight >= 0.0 && weight <= 1.0))
    return std::unexpected(ApiError::invalid_parameter(fmt::format(
        "1 validation error detected: Value '{}' at 'routingConfig.additionalVersionWeights' "
        "failed to satisfy constraint: Map value must satisfy constraint: [Member must have "
        "value less than or equal to 1.0, Member must have value greater than or equal to 0.0]",
        weight)));
  if (version == function_version)
    return std::unexpected(ApiError::invalid_parameter(fmt::format(
        "Invalid function version {}. Function version {} is already included in routing "
        "configuration.",
        version, version)));
  routing.additional_version = version;
  routing.additional_weight = weight;
  return routing;
}

double routing_draw() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(generator);
}

}  // namespace api
