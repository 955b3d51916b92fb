// Planning a deploy's HTTP calls (see stack_plan.hpp).
#include "runtimed/deploy/stack_plan.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "common/base64.hpp"

namespace runtimed::deploy {

namespace {

using nlohmann::json;

// One path segment, percent-encoded (ARNs hold ':' and '/').
std::string segment(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

HttpCall json_call(std::string method, std::string target, const json& body) {
  return {std::move(method), std::move(target), {}, body.dump(), "application/json"};
}
HttpCall bare_call(std::string method, std::string target) {
  return {std::move(method), std::move(target), {}, "", ""};
}

std::string function_path(const std::string& name, std::string_view suffix = "") {
  return "/2015-03-31/functions/" + segment(name) + std::string(suffix);
}

json without(json j, std::initializer_list<const char*> keys) {
  for (const char* k : keys) j.erase(k);
  return j;
}

class Planner {
 public:
  Plan plan;
  std::vector<AppliedResource> pending_old_layers;  // deleted once their successors exist

  void create(const DesiredResource& d);
  void update(const DesiredResource& d, const AppliedResource& a);
  // forget=false: the old half of a replacement.
  void remove(const AppliedResource& a, bool forget);

 private:
  void add(const std::string& key, ChangeAction action, HttpCall call,
           std::map<std::string, std::string> captures = {}, bool forget = true) {
    plan.calls.push_back({key, action, std::move(call), std::move(captures), forget});
  }
  void note(ChangeAction action, ResourceKind kind, const std::string& key,
            const std::string& physical) {
    plan.summary.push_back(fmt::format("{} {} {}{}", action_name(action), kind_name(kind), key,
                                       physical.empty() ? "" : " (" + physical + ")"));
  }
  void publish_layer(const DesiredResource& d, ChangeAction action) {
    json body = d.spec;
    body["Content"] = {{"ZipFile", common::base64_encode(d.code_zip)}};
    add(d.key, action,
        json_call("POST", "/2018-10-31/layers/" + segment(d.physical) + "/versions", body),
        {{"Arn", "LayerVersionArn"}, {"Version", "Version"}});
  }
  void publish_and_point_alias(const DesiredResource& d, ChangeAction action) {
    add(d.key, action, json_call("POST", function_path(d.function, "/versions"), json::object()),
        {{"Version", "Version"}});
    if (action == ChangeAction::kCreate)
      add(d.key, action, json_call("POST", function_path(d.function, "/aliases"), d.spec),
          {{"Arn", "AliasArn"}});
    else
      add(d.key, action,
          json_call("PUT", function_path(d.function, "/aliases/" + segment(d.physical)),
                    without(d.spec, {"Name"})),
          {{"Arn", "AliasArn"}});
  }
  std::string url_target(const std::string& function, const std::string& alias) {
    return "/2021-10-31/functions/" + segment(function) + "/url" +
           (alias.empty() ? "" : "?Qualifier=" + segment(alias));
  }
};

void Planner::create(const DesiredResource& d) {
  const auto C = ChangeAction::kCreate;
  note(C, d.kind, d.key, d.physical);
  switch (d.kind) {
    case ResourceKind::kLayer:
      return publish_layer(d, C);
    case ResourceKind::kQueue:
      return add(d.key, C, json_call("PUT", "/runtimed/v1/queues/" + segment(d.physical), d.spec));
    case ResourceKind::kFunction: {
      json body = d.spec;
      if (body["Tags"].empty()) body.erase("Tags");
      body["Code"] = {{"ZipFile", common::base64_encode(d.code_zip)}};
      return add(d.key, C, json_call("POST", "/2015-03-31/functions", body),
                 {{"Arn", "FunctionArn"}});
    }
    case ResourceKind::kReservedConcurrency:
      return add(d.key, C,
                 json_call("PUT", "/2017-10-31/functions/" + segment(d.function) + "/concurrency",
                           d.spec));
    case ResourceKind::kEventInvokeConfig:
      return add(
          d.key, C,
          json_call("PUT", "/2019-09-25/functions/" + segment(d.function) + "/event-invoke-config",
                    d.spec));
    case ResourceKind::kAlias:
      return publish_and_point_alias(d, C);
    case ResourceKind::kProvisionedConcurrency:
      return add(d.key, C,
                 json_call("PUT",
                           "/2019-09-30/functions/" + segment(d.function) +
                               "/provisioned-concurrency?Qualifier=" + segment(d.physical),
                           d.spec));
    case ResourceKind::kFunctionUrl:
      return add(d.key, C, json_call("POST", url_target(d.function, d.physical), d.spec),
                 {{"FunctionUrl", "FunctionUrl"}});
    case ResourceKind::kHttpApi:
      return add(d.key, C,
                 json_call("PUT", "/runtimed/v1/http-apis/" + segment(d.physical), d.spec),
                 {{"ApiId", "ApiId"}, {"ApiEndpoint", "ApiEndpoint"}});
    case ResourceKind::kSchedule:
      return add(d.key, C,
                 json_call("PUT", "/runtimed/v1/schedules/" + segment(d.physical), d.spec),
                 {{"Arn", "Arn"}});
    case ResourceKind::kEventSourceMapping:
      return add(d.key, C, json_call("POST", "/2015-03-31/event-source-mappings/", d.spec),
                 {{"UUID", "UUID"}});
  }
}

void Planner::update(const DesiredResource& d, const AppliedResource& a) {
  const auto U = ChangeAction::kUpdate;
  note(U, d.kind, d.key, d.physical);
  auto changed = [&](const std::string& part) {
    auto it = a.hashes.find(part);
    return it == a.hashes.end() || it->second != d.hashes.at(part);
  };
  switch (d.kind) {
    case ResourceKind::kLayer:
      // A layer version is immutable: publish the next, delete the previous once nothing uses it.
      publish_layer(d, U);
      pending_old_layers.push_back(a);
      return;
    case ResourceKind::kFunction: {
      if (changed("code"))
        add(d.key, U,
            json_call("PUT", function_path(d.physical, "/code"),
                      {{"ZipFile", common::base64_encode(d.code_zip)}}));
      if (changed("configuration"))
        add(d.key, U,
            json_call("PUT", function_path(d.physical, "/configuration"),
                      without(d.spec, {"FunctionName", "Tags"})));
      if (changed("tags")) {
        const std::string arn = a.attributes.contains("Arn") ? a.attributes.at("Arn") : "";
        const json& tags = d.spec["Tags"];
        if (!tags.empty())
          add(d.key, U, json_call("POST", "/2017-03-31/tags/" + segment(arn), {{"Tags", tags}}));
        std::string removed;
        const json old_tags = a.spec.value("Tags", json::object());
        for (const auto& [k, v] : old_tags.items()) {
          if (!tags.contains(k))
            removed += (removed.empty() ? "?" : "&") + ("tagKeys=" + segment(k));
        }
        if (!removed.empty())
          add(d.key, U, bare_call("DELETE", "/2017-03-31/tags/" + segment(arn) + removed));
      }
      return;
    }
    case ResourceKind::kAlias:
      return publish_and_point_alias(d, U);
    case ResourceKind::kFunctionUrl:
      return add(d.key, U, json_call("PUT", url_target(d.function, d.physical), d.spec),
                 {{"FunctionUrl", "FunctionUrl"}});
    case ResourceKind::kEventSourceMapping: {
      const std::string uuid = a.attributes.contains("UUID") ? a.attributes.at("UUID") : "";
      // A mapping cannot move to another queue: replace it.
      if (a.spec.value("EventSourceArn", "") != d.spec.value("EventSourceArn", "")) {
        add(d.key, U, bare_call("DELETE", "/2015-03-31/event-source-mappings/" + segment(uuid)));
        return add(d.key, U, json_call("POST", "/2015-03-31/event-source-mappings/", d.spec),
                   {{"UUID", "UUID"}});
      }
      return add(d.key, U,
                 json_call("PUT", "/2015-03-31/event-source-mappings/" + segment(uuid),
                           without(d.spec, {"EventSourceArn"})));
    }
    default:
      // The rest are put whole (PUT is create-or-replace for them).
      create(d);
      plan.summary.pop_back();
      for (auto& c : plan.calls) {
        if (c.key == d.key) c.action = U;
      }
      return;
  }
}

void Planner::remove(const AppliedResource& a, bool forget) {
  const auto D = ChangeAction::kDelete;
  if (forget) note(D, a.kind, a.key, a.physical);
  auto attr = [&](const char* name) {
    return a.attributes.contains(name) ? a.attributes.at(name) : std::string();
  };
  switch (a.kind) {
    case ResourceKind::kLayer:
      return add(a.key, D,
                 bare_call("DELETE", "/2018-10-31/layers/" + segment(a.physical) + "/versions/" +
                                         segment(attr("Version"))),
                 {}, forget);
    case ResourceKind::kQueue:
      return add(a.key, D, bare_call("DELETE", "/runtimed/v1/queues/" + segment(a.physical)), {},
                 forget);
    case ResourceKind::kFunction:
      return add(a.key, D, bare_call("DELETE", function_path(a.physical)), {}, forget);
    case ResourceKind::kReservedConcurrency:
      return add(
          a.key, D,
          bare_call("DELETE", "/2017-10-31/functions/" + segment(a.function) + "/concurrency"), {},
          forget);
    case ResourceKind::kEventInvokeConfig:
      return add(a.key, D,
                 bare_call("DELETE",
                           "/2019-09-25/functions/" + segment(a.function) + "/event-invoke-config"),
                 {}, forget);
    case ResourceKind::kAlias:
      return add(a.key, D,
                 bare_call("DELETE", function_path(a.function, "/aliases/" + segment(a.physical))),
                 {}, forget);
    case ResourceKind::kProvisionedConcurrency:
      return add(
          a.key, D,
          bare_call("DELETE", "/2019-09-30/functions/" + segment(a.function) +
                                  "/provisioned-concurrency?Qualifier=" + segment(a.physical)),
          {}, forget);
    case ResourceKind::kFunctionUrl:
      return add(a.key, D, bare_call("DELETE", url_target(a.function, a.physical)), {}, forget);
    case ResourceKind::kHttpApi:
      return add(a.key, D, bare_call("DELETE", "/runtimed/v1/http-apis/" + segment(a.physical)), {},
                 forget);
    case ResourceKind::kSchedule:
      return add(a.key, D, bare_call("DELETE", "/runtimed/v1/schedules/" + segment(a.physical)), {},
                 forget);
    case ResourceKind::kEventSourceMapping:
      return add(a.key, D,
                 bare_call("DELETE", "/2015-03-31/event-source-mappings/" + segment(attr("UUID"))),
                 {}, forget);
  }
}

std::vector<const AppliedResource*> reverse_order(std::vector<const AppliedResource*> list) {
  std::ranges::stable_sort(
      list, [](const AppliedResource* x, const AppliedResource* y) { return x->kind > y->kind; });
  return list;
}

}  // namespace

std::string_view action_name(ChangeAction action) {
  switch (action) {
    case ChangeAction::kCreate:
      return "create";
    case ChangeAction::kUpdate:
      return "update";
    case ChangeAction::kDelete:
      return "delete";
  }
  return "?";
}

AppliedStack applied_from_record(const json& record) {
  AppliedStack out;
  if (!record.is_object()) return out;
  const json resources = record.value("Resources", json::object());
  for (const auto& [key, r] : resources.items()) {
    AppliedResource a;
    a.key = key;
    a.kind = kind_from_name(r.value("Kind", "")).value_or(ResourceKind::kFunction);
    a.physical = r.value("Physical", "");
    a.function = r.value("Function", "");
    a.hashes = r.value("Hashes", std::map<std::string, std::string>{});
    a.attributes = r.value("Attributes", std::map<std::string, std::string>{});
    a.spec = r.value("Spec", json::object());
    out.resources[key] = std::move(a);
  }
  out.outputs = record.value("Outputs", json::object());
  out.parameters = record.value("Parameters", json::object());
  return out;
}

json record_of(const AppliedStack& stack) {
  json resources = json::object();
  for (const auto& [key, a] : stack.resources) {
    resources[key] = {{"Kind", kind_name(a.kind)},  {"Physical", a.physical},
                      {"Function", a.function},     {"Hashes", a.hashes},
                      {"Attributes", a.attributes}, {"Spec", a.spec}};
  }
  return {{"Resources", resources}, {"Outputs", stack.outputs}, {"Parameters", stack.parameters}};
}

AppliedResource applied_from_desired(const DesiredResource& d) {
  return {d.key, d.kind, d.physical, d.function, d.hashes, {}, d.spec};
}

std::map<std::string, std::string> attributes_of(const AppliedStack& stack) {
  std::map<std::string, std::string> out;
  for (const auto& [key, a] : stack.resources) {
    for (const auto& [name, value] : a.attributes) out[key + "." + name] = value;
  }
  return out;
}

Plan plan_changes(const DesiredStack& desired, const AppliedStack& applied) {
  Planner planner;
  std::vector<AppliedResource> replaced;  // kept alive for deletes
  replaced.reserve(desired.resources.size());
  for (const DesiredResource& d : desired.resources) {
    auto it = applied.resources.find(d.key);
    if (it == applied.resources.end()) {
      planner.create(d);
    } else if (it->second.kind != d.kind || it->second.physical != d.physical ||
               it->second.function != d.function) {
      // Renamed or retyped: make the new one, delete the old one with the other deletes.
      planner.create(d);
      replaced.push_back(it->second);
    } else if (it->second.hashes != d.hashes) {
      planner.update(d, it->second);
    }
  }
  for (auto& old_layer : planner.pending_old_layers) replaced.push_back(old_layer);
  // Removed resources and replaced halves interleave by kind, aliases before their functions.
  std::vector<std::pair<const AppliedResource*, bool>> all;
  all.reserve(applied.resources.size() + replaced.size());
  for (const auto& [key, a] : applied.resources) {
    const bool wanted = std::ranges::any_of(desired.resources,
                                            [&](const DesiredResource& d) { return d.key == key; });
    if (!wanted) all.emplace_back(&a, true);
  }
  for (const auto& r : replaced) all.emplace_back(&r, false);
  std::ranges::stable_sort(
      all, [](const auto& x, const auto& y) { return x.first->kind > y.first->kind; });
  for (const auto& [a, forget] : all) planner.remove(*a, forget);
  return std::move(planner.plan);
}

Plan plan_deletion(const AppliedStack& applied) {
  Planner planner;
  std::vector<const AppliedResource*> all;
  all.reserve(applied.resources.size());
  for (const auto& [key, a] : applied.resources) all.push_back(&a);
  for (const auto* a : reverse_order(all)) planner.remove(*a, true);
  return std::move(planner.plan);
}

std::vector<std::string> call_lines(const Plan& plan) {
  std::vector<std::string> out;
  out.reserve(plan.calls.size());
  for (const auto& c : plan.calls) out.push_back(c.call.method + " " + c.call.target);
  return out;
}

}  // namespace runtimed::deploy
