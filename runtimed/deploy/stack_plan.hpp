// The difference between a desired stack and the one last applied, as the ordered HTTP calls that
// make it so: layers and queues first, then functions, then what hangs off functions (versions,
// aliases, URLs, routes, schedules, mappings); deletes last, in reverse order.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "runtimed/cli/cli_requests.hpp"
#include "runtimed/deploy/desired_stack.hpp"

namespace runtimed::deploy {

// What a stack record (the daemon's /runtimed/v1/stacks/{name}) says was applied.
struct AppliedResource {
  std::string key;
  ResourceKind kind = ResourceKind::kFunction;
  std::string physical;
  std::string function;
  std::map<std::string, std::string> hashes;
  std::map<std::string, std::string> attributes;  // captured from responses (Arn, Version, UUID…)
  nlohmann::json spec = nlohmann::json::object();
};

struct AppliedStack {
  std::map<std::string, AppliedResource> resources;
  nlohmann::json outputs = nlohmann::json::object();
  nlohmann::json parameters = nlohmann::json::object();
};

AppliedStack applied_from_record(const nlohmann::json& record);
nlohmann::json record_of(const AppliedStack& stack);
AppliedResource applied_from_desired(const DesiredResource& desired);
// Every "KEY.ATTRIBUTE" → value an applied stack knows (what tokens are substituted from).
std::map<std::string, std::string> attributes_of(const AppliedStack& stack);

enum class ChangeAction { kCreate, kUpdate, kDelete };
std::string_view action_name(ChangeAction action);

struct PlannedCall {
  std::string key;
  ChangeAction action;
  HttpCall call;  // the body and target may hold attribute tokens
  // ATTRIBUTE → the response's top-level field it is read from.
  std::map<std::string, std::string> captures;
  // A delete whose record entry goes (false: the old half of a replacement, e.g. a layer's
  // previous version, whose key now names the new one).
  bool forget = true;
};

struct Plan {
  std::vector<PlannedCall> calls;
  // One line per changed resource: "create Function Hello (stack-Hello)".
  std::vector<std::string> summary;
};

Plan plan_changes(const DesiredStack& desired, const AppliedStack& applied);
// Everything of the stack, deleted in reverse dependency order.
Plan plan_deletion(const AppliedStack& applied);

// "METHOD target" of each call, for messages and tests.
std::vector<std::string> call_lines(const Plan& plan);

}  // namespace runtimed::deploy
