// The deploy and stack subcommands (see cli_deploy_commands.hpp): read the template, read the
// stack's record from the daemon, plan the difference, make its calls, store the new record.
#include "runtimed/cli/cli_deploy_commands.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "runtimed/cli/cli_http.hpp"
#include "runtimed/cli/cli_requests.hpp"
#include "runtimed/deploy/sam_template.hpp"
#include "runtimed/deploy/stack_plan.hpp"
#include "runtimed/stack_routes.hpp"

namespace runtimed {

struct DeployCommandState {
  std::string endpoint{kDefaultEndpoint};
  std::string template_file;
  std::string stack_name;
  std::vector<std::string> parameter_overrides;
  bool dry_run = false;
  CLI::App* deploy = nullptr;
  CLI::App* stack = nullptr;
  CLI::App *list = nullptr, *describe = nullptr, *remove = nullptr;
};

namespace {

using nlohmann::json;
using namespace deploy;

int fail(const std::string& message) {
  std::fprintf(stderr, "runtimed: %s\n", message.c_str());
  return 2;
}

void print(const std::string& text) { std::fwrite(text.data(), 1, text.size(), stdout); }

std::string stack_path(const std::string& name) { return "/runtimed/v1/stacks/" + name; }

// The response's JSON, or the error in Lambda's words.
std::expected<json, std::string> send_json(DaemonClient& client, const HttpCall& call,
                                           int* status = nullptr) {
  auto response = client.send(call);
  if (!response) return std::unexpected(response.error());
  if (status) *status = response->status;
  if (response->status >= 400) {
    return std::unexpected(api_error_text(
        response->status, response->get_header_value("x-amzn-ErrorType"), response->body));
  }
  return json::parse(response->body.empty() ? "{}" : response->body, nullptr, false);
}

// The stack's record, or an empty one when the daemon has none of that name.
std::expected<AppliedStack, std::string> read_stack(DaemonClient& client, const std::string& name,
                                                    bool* exists = nullptr) {
  int status = 0;
  auto body = send_json(client, {"GET", stack_path(name)}, &status);
  if (!body && status == 404) {
    if (exists) *exists = false;
    return AppliedStack{};
  }
  if (!body) return std::unexpected(body.error());
  if (exists) *exists = true;
  return applied_from_record(body->value("Record", json::object()));
}

std::expected<void, std::string> save_stack(DaemonClient& client, const std::string& name,
                                            const AppliedStack& stack) {
  auto saved =
      send_json(client, {"PUT", stack_path(name), {}, record_of(stack).dump(), "application/json"});
  if (!saved) return std::unexpected("saving the stack record: " + saved.error());
  return {};
}

std::string format_outputs(const json& outputs) {
  if (outputs.empty()) return "";
  std::string out = "Outputs:\n";
  for (const auto& [name, o] : outputs.items()) {
    out += fmt::format("  {:<24} {}\n", name, o.value("Value", ""));
    if (o.contains("Description"))
      out += fmt::format("  {:<24} ({})\n", "", o["Description"].get<std::string>());
  }
  return out;
}

// Makes the plan's calls in order. Each resource's record entry changes once its last call
// succeeded, so a failure part-way leaves a record the next deploy continues from.
std::expected<void, std::string> apply(DaemonClient& client, const Plan& plan,
                                       const DesiredStack* desired, AppliedStack& stack) {
  std::map<std::string, std::string> attributes = attributes_of(stack);
  std::map<std::string, std::map<std::string, std::string>> captured;
  for (size_t i = 0; i < plan.calls.size(); ++i) {
    const PlannedCall& planned = plan.calls[i];
    HttpCall call = planned.call;
    call.target = substitute_tokens(json(call.target), attributes).get<std::string>();
    if (call.content_type == "application/json")
      call.body = substitute_tokens(json::parse(call.body), attributes).dump();
    int status = 0;
    auto body = send_json(client, call, &status);
    // A delete of what is already gone is done; a 404 that says the route is unknown is not.
    const bool already_gone = planned.action == ChangeAction::kDelete && status == 404 && !body &&
                              body.error().starts_with("ResourceNotFoundException");
    if (!body && !already_gone) {
      return std::unexpected(fmt::format("{} {} ({} {}): {}", action_name(planned.action),
                                         planned.key, call.method, call.target, body.error()));
    }
    for (const auto& [attribute, field] : planned.captures) {
      if (!body || !body->contains(field)) continue;
      const json& v = (*body)[field];
      const std::string text = v.is_string() ? v.get<std::string>() : v.dump();
      captured[planned.key][attribute] = text;
      attributes[planned.key + "." + attribute] = text;
    }
    const bool last_of_key = i + 1 == plan.calls.size() || plan.calls[i + 1].key != planned.key;
    if (!last_of_key) continue;
    if (planned.action == ChangeAction::kDelete) {
      if (planned.forget) stack.resources.erase(planned.key);
      continue;
    }
    for (const auto& d : desired->resources) {
      if (d.key != planned.key) continue;
      AppliedResource entry = applied_from_desired(d);
      if (auto old = stack.resources.find(d.key); old != stack.resources.end())
        entry.attributes = old->second.attributes;
      for (const auto& [a, v] : captured[d.key]) entry.attributes[a] = v;
      stack.resources[d.key] = std::move(entry);
    }
  }
  return {};
}

std::expected<std::string, std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

int run_deploy(const DeployCommandState& s) {
  // Checked here too: the daemon refusing the record after the resources were made would leave
  // them without a stack.
  if (!valid_stack_name(s.stack_name))
    return fail("--stack-name '" + s.stack_name +
                "' must start with a letter and hold only letters, digits and '-' (at most 128)");
  DaemonClient client(s.endpoint, kDefaultReadTimeout);
  // The daemon's region and account make the ARNs the template's Refs resolve to.
  auto stacks = send_json(client, {"GET", "/runtimed/v1/stacks"});
  if (!stacks) return fail(stacks.error());
  auto overrides = parse_parameter_overrides(s.parameter_overrides);
  if (!overrides) return fail(overrides.error());
  auto text = read_file(s.template_file);
  if (!text) return fail(text.error());
  const std::filesystem::path file = s.template_file;
  auto desired = load_sam_template(
      {*text, file.filename().string(), std::filesystem::absolute(file).parent_path(), s.stack_name,
       stacks->value("Region", "us-east-1"), stacks->value("AccountId", "000000000000"), s.endpoint,
       *overrides});
  if (!desired) return fail(desired.error());
  auto applied = read_stack(client, s.stack_name);
  if (!applied) return fail(applied.error());
  const Plan plan = plan_changes(*desired, *applied);
  if (s.dry_run) {
    for (const auto& line : plan.summary) print(line + "\n");
    for (const auto& line : call_lines(plan)) print("  " + line + "\n");
    if (plan.calls.empty())
      print(fmt::format("No changes: stack {} is up to date\n", s.stack_name));
    return 0;
  }
  AppliedStack stack = *applied;
  stack.parameters = desired->parameters;
  if (plan.calls.empty()) {
    print(fmt::format("No changes: stack {} is up to date\n", s.stack_name));
  } else {
    for (const auto& line : plan.summary) print(line + "\n");
    auto ok = apply(client, plan, &*desired, stack);
    if (!ok) {
      if (auto saved = save_stack(client, s.stack_name, stack); !saved) fail(saved.error());
      return fail(ok.error());
    }
  }
  const json outputs = substitute_tokens(desired->outputs, attributes_of(stack));
  if (!plan.calls.empty() || outputs != applied->outputs ||
      stack.parameters != applied->parameters) {
    stack.outputs = outputs;
    if (auto saved = save_stack(client, s.stack_name, stack); !saved) return fail(saved.error());
  }
  if (!plan.calls.empty())
    print(fmt::format("Stack {}: {} change(s) applied\n", s.stack_name, plan.summary.size()));
  print(format_outputs(outputs));
  return 0;
}

int run_stack_list(const DeployCommandState& s) {
  DaemonClient client(s.endpoint, kDefaultReadTimeout);
  auto body = send_json(client, {"GET", "/runtimed/v1/stacks"});
  if (!body) return fail(body.error());
  std::string out = fmt::format("{:<40} {:>10}\n", "NAME", "RESOURCES");
  for (const auto& st : body->value("Stacks", json::array())) {
    out +=
        fmt::format("{:<40} {:>10}\n", st.value("StackName", ""),
                    st.value("Record", json::object()).value("Resources", json::object()).size());
  }
  print(out);
  return 0;
}

int run_stack_describe(const DeployCommandState& s) {
  DaemonClient client(s.endpoint, kDefaultReadTimeout);
  bool exists = false;
  auto stack = read_stack(client, s.stack_name, &exists);
  if (!stack) return fail(stack.error());
  if (!exists) return fail("ResourceNotFoundException: Stack not found: " + s.stack_name);
  std::string out =
      fmt::format("Stack {}\n{:<44} {:<24} {}\n", s.stack_name, "RESOURCE", "KIND", "PHYSICAL");
  for (const auto& [key, r] : stack->resources) {
    std::string physical = r.physical;
    if (r.attributes.contains("UUID")) physical = r.attributes.at("UUID");
    if (r.kind == ResourceKind::kLayer && r.attributes.contains("Arn"))
      physical = r.attributes.at("Arn");
    out += fmt::format("{:<44} {:<24} {}\n", key, kind_name(r.kind), physical);
  }
  out += format_outputs(stack->outputs);
  print(out);
  return 0;
}

int run_stack_delete(const DeployCommandState& s) {
  DaemonClient client(s.endpoint, kDefaultReadTimeout);
  bool exists = false;
  auto stack = read_stack(client, s.stack_name, &exists);
  if (!stack) return fail(stack.error());
  if (!exists) return fail("ResourceNotFoundException: Stack not found: " + s.stack_name);
  const Plan plan = plan_deletion(*stack);
  for (const auto& line : plan.summary) print(line + "\n");
  AppliedStack left = *stack;
  if (auto ok = apply(client, plan, nullptr, left); !ok) {
    if (auto saved = save_stack(client, s.stack_name, left); !saved) fail(saved.error());
    return fail(ok.error());
  }
  if (auto gone = send_json(client, {"DELETE", stack_path(s.stack_name)}); !gone)
    return fail(gone.error());
  print(fmt::format("Stack {} deleted\n", s.stack_name));
  return 0;
}

}  // namespace

void add_deploy_commands(CLI::App& app, DeployCommands& commands) {
  commands.state = std::make_shared<DeployCommandState>();
  auto& s = *commands.state;
  auto common = [&](CLI::App* cmd) {
    cmd->add_option("--endpoint", s.endpoint, "URL of the runtimed daemon")->capture_default_str();
    add_ca_bundle_option(cmd);
  };
  s.deploy = app.add_subcommand(
      "deploy", "Deploy a SAM template as a named stack (only the difference is applied)");
  common(s.deploy);
  s.deploy->add_option("template", s.template_file, "The SAM template (YAML)")->required();
  s.deploy->add_option("--stack-name", s.stack_name, "The stack's name")->required();
  s.deploy->add_option("--parameter-overrides", s.parameter_overrides,
                       "Template parameters, Key=Value ...");
  s.deploy->add_flag("--dry-run", s.dry_run, "Print the changes and the calls; make none");

  s.stack = app.add_subcommand("stack", "Stacks made by runtimed deploy");
  s.stack->require_subcommand(1);
  s.list = s.stack->add_subcommand("list", "List stacks");
  common(s.list);
  s.describe = s.stack->add_subcommand("describe", "A stack's resources and outputs");
  common(s.describe);
  s.describe->add_option("name", s.stack_name, "Stack name")->required();
  s.remove = s.stack->add_subcommand("delete", "Delete a stack and every resource it made");
  common(s.remove);
  s.remove->add_option("name", s.stack_name, "Stack name")->required();
}

std::optional<int> run_deploy_command(const DeployCommands& commands) {
  if (!commands.state) return std::nullopt;
  const auto& s = *commands.state;
  if (s.deploy->parsed()) return run_deploy(s);
  if (!s.stack->parsed()) return std::nullopt;
  if (s.list->parsed()) return run_stack_list(s);
  if (s.describe->parsed()) return run_stack_describe(s);
  if (s.remove->parsed()) return run_stack_delete(s);
  return std::nullopt;
}

}  // namespace runtimed
