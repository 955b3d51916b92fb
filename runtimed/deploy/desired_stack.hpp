// What a SAM template asks for, after parsing: the resources a deploy wants to exist, each with the
// request body that makes it and a hash that says whether an applied one still matches.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace runtimed::deploy {

// The order of creation (lower first); deletion runs in reverse.
enum class ResourceKind {
  kLayer = 0,
  kQueue = 1,
  kFunction = 2,
  kReservedConcurrency = 3,
  kEventInvokeConfig = 4,
  kAlias = 5,  // AutoPublishAlias: publish a version, point the alias at it
  kProvisionedConcurrency = 6,
  kFunctionUrl = 7,
  kHttpApi = 8,
  kSchedule = 9,
  kEventSourceMapping = 10,
};
std::string_view kind_name(ResourceKind kind);
std::optional<ResourceKind> kind_from_name(std::string_view name);

// A value known only once a resource is applied (a layer version's ARN, an event source
// mapping's UUID, an HTTP API's endpoint) is written "${runtimed:KEY.ATTRIBUTE}" in specs and
// outputs, and substituted when the calls are made.
std::string attribute_token(std::string_view key, std::string_view attribute);

struct DesiredResource {
  std::string key;  // unique in the stack: a logical id, or "Fn.Alias", "Fn.Events.Nightly"
  ResourceKind kind;
  std::string physical;  // the name it has in the daemon (function, layer, queue, API, schedule)
  std::string function;  // the function it belongs to (per-function settings), else empty
  nlohmann::json spec;   // the request body (may hold attribute tokens)
  std::string code_zip;  // functions and layers: the package's bytes (not in spec)
  // Per part (code, configuration, tags; or "spec"), a hash of what makes it; the part's hash
  // changes when a resource it refers to by token changes.
  std::map<std::string, std::string> hashes;
};

struct DesiredStack {
  std::string stack_name;
  std::vector<DesiredResource> resources;                // in template order
  nlohmann::json outputs = nlohmann::json::object();     // name → value (may hold tokens)
  nlohmann::json parameters = nlohmann::json::object();  // the values used
};

// The keys of resources whose tokens appear in `value`.
std::vector<std::string> referenced_keys(const nlohmann::json& value);
// `value` with every token replaced from `attributes` (KEY.ATTRIBUTE → text); a token with no
// value is left as it is.
nlohmann::json substitute_tokens(const nlohmann::json& value,
                                 const std::map<std::string, std::string>& attributes);

}  // namespace runtimed::deploy
