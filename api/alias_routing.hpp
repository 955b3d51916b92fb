// An alias's traffic split, as Lambda's RoutingConfig: the alias's FunctionVersion takes what the
// one additional version (AdditionalVersionWeights) does not. Plain data and a pure choice, so the
// invoke hot path resolves an alias from memory without the database.
#pragma once

#include <expected>
#include <map>
#include <optional>
#include <string>

#include "api/lambda_error.hpp"

namespace api {

struct AliasRouting {
  std::string function_version;  // the alias's primary version (a number, or $LATEST)
  // The second version and the share of invocations it takes, in [0, 1].
  std::optional<std::string> additional_version;
  double additional_weight = 0.0;

  // The version an invocation runs, for a uniform draw in [0, 1): the additional version when
  // `draw` < its weight, else the primary one.
  const std::string& choose(double draw) const {
    return additional_version && draw < additional_weight ? *additional_version : function_version;
  }

  bool operator==(const AliasRouting&) const = default;
};

// Validates CreateAlias/UpdateAlias's FunctionVersion and RoutingConfig.AdditionalVersionWeights
// as Lambda does: at most one additional version, a published version (digits) other than the
// primary, a weight in [0.0, 1.0], and no routing for an alias on $LATEST. Errors are 400
// InvalidParameterValueException. Whether the versions exist is the catalog's check.
std::expected<AliasRouting, ApiError> make_alias_routing(
    const std::string& function_version, const std::map<std::string, double>& additional_weights);

// A uniform draw in [0, 1) from a per-thread generator: no lock on the invoke path.
double routing_draw();

}  // namespace api
