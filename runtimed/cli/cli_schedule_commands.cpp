// The `runtimed schedule …` subcommands (see cli_schedule_commands.hpp).
#include "runtimed/cli/cli_schedule_commands.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "runtimed/cli/cli_http.hpp"
#include "runtimed/cli/cli_requests.hpp"

namespace runtimed {

struct ScheduleCommandState {
  std::string endpoint{kDefaultEndpoint};
  std::string name;
  std::string expression;
  std::string function;
  std::string timezone = "UTC";
  std::string input;
  std::string description;
  bool disabled = false;
  CLI::App* schedule = nullptr;
  CLI::App *list = nullptr, *get = nullptr, *put = nullptr, *remove = nullptr;
};

namespace {

using nlohmann::json;

int call(const ScheduleCommandState& s, const HttpCall& c, bool print_body) {
  return call_and_print(s.endpoint, c,
                        print_body ? [](const json& body) { return body.dump(2) + "\n"; }
                                   : std::function<std::string(const json&)>());
}

}  // namespace

void add_schedule_commands(CLI::App& app, ScheduleCommands& commands) {
  commands.state = std::make_shared<ScheduleCommandState>();
  auto& s = *commands.state;
  s.schedule = app.add_subcommand("schedule", "Schedules: rate(), cron() and at() invocations");
  s.schedule->require_subcommand(1);
  auto add = [&](const char* name, const char* help, bool takes_name) {
    auto* cmd = s.schedule->add_subcommand(name, help);
    cmd->add_option("--endpoint", s.endpoint, "URL of the runtimed daemon")->capture_default_str();
    add_ca_bundle_option(cmd);
    if (takes_name) cmd->add_option("name", s.name, "Schedule name")->required();
    return cmd;
  };
  s.list = add("list", "List schedules with their next invocation", false);
  s.get = add("get", "Show one schedule", true);
  s.put = add("put", "Create or replace a schedule", true);
  s.put
      ->add_option("--expression", s.expression,
                   "rate(5 minutes), cron(0 12 ? * MON-FRI *) or at(2027-01-01T09:00:00)")
      ->required();
  s.put->add_option("--function", s.function, "The function (name, name:alias or ARN)")->required();
  s.put->add_option("--timezone", s.timezone, "IANA time zone of cron() and at()")
      ->capture_default_str();
  s.put->add_option("--input", s.input, "The event, JSON (default: EventBridge's scheduled event)");
  s.put->add_option("--description", s.description, "A description");
  s.put->add_flag("--disabled", s.disabled, "Create it DISABLED");
  s.remove = add("delete", "Delete a schedule", true);
}

std::optional<int> run_schedule_command(const ScheduleCommands& commands) {
  if (!commands.state || !commands.state->schedule || !commands.state->schedule->parsed())
    return std::nullopt;
  const auto& s = *commands.state;
  const std::string path = "/runtimed/v1/schedules/" + s.name;
  if (s.list->parsed()) return call(s, HttpCall{"GET", "/runtimed/v1/schedules"}, true);
  if (s.get->parsed()) return call(s, HttpCall{"GET", path}, true);
  if (s.remove->parsed()) return call(s, HttpCall{"DELETE", path}, false);
  if (s.put->parsed()) {
    json body = {{"ScheduleExpression", s.expression},
                 {"ScheduleExpressionTimezone", s.timezone},
                 {"State", s.disabled ? "DISABLED" : "ENABLED"},
                 {"Target", {{"Arn", s.function}}}};
    if (!s.input.empty()) body["Target"]["Input"] = s.input;
    if (!s.description.empty()) body["Description"] = s.description;
    return call(s, HttpCall{"PUT", path, {}, body.dump(), "application/json"}, true);
  }
  return std::nullopt;
}

}  // namespace runtimed
