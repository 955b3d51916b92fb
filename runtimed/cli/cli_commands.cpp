// The command-line client's subcommands: their options, and running them against the daemon.
#include "runtimed/cli/cli_commands.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "common/base64.hpp"
#include "runtimed/cli/aws_credentials.hpp"
#include "runtimed/cli/cli_http.hpp"
#include "runtimed/cli/cli_requests.hpp"

namespace runtimed {

struct ClientCommandState {
  std::vector<std::pair<ClientCommand, CLI::App*>> subcommands;
  ClientOptions create, update, get, list, del, invoke, logs;
};

namespace {

using nlohmann::json;

constexpr int kExitOk = 0;
constexpr int kExitFunctionError = 1;
constexpr int kExitFailure = 2;

int fail(const std::string& message) {
  std::fprintf(stderr, "runtimed: %s\n", message.c_str());
  return kExitFailure;
}

void write_stdout(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

// Pretty-prints a JSON body; anything else goes out as it came.
void print_body(const std::string& body) {
  auto parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  std::string text = parsed.is_discarded() ? body : parsed.dump(2);
  if (!text.empty() && text.back() != '\n') text += '\n';
  write_stdout(text);
}

bool is_error(const httplib::Response& r) { return r.status >= 400; }

std::string error_text(const httplib::Response& r) {
  return api_error_text(r.status, r.get_header_value("x-amzn-ErrorType"), r.body);
}

// create, update, get, delete: each call in turn; the last answer is printed.
int run_simple(const ClientOptions& options, const std::vector<HttpCall>& calls, bool print) {
  DaemonClient client(options.endpoint, kDefaultReadTimeout);
  for (size_t i = 0; i < calls.size(); ++i) {
    auto response = client.send(calls[i]);
    if (!response) return fail(response.error());
    if (is_error(*response)) return fail(error_text(*response));
    if (print && i + 1 == calls.size()) print_body(response->body);
  }
  return kExitOk;
}

int run_list(const ClientOptions& options) {
  DaemonClient client(options.endpoint, kDefaultReadTimeout);
  json functions = json::array();
  std::optional<std::string> marker;
  while (true) {
    auto response = client.send(HttpCall{"GET", list_target(marker)});
    if (!response) return fail(response.error());
    if (is_error(*response)) return fail(error_text(*response));
    auto page = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
    if (!page.is_object() || !page.contains("Functions") || !page["Functions"].is_array())
      return fail("ListFunctions answered with no Functions list");
    for (auto& f : page["Functions"]) functions.push_back(std::move(f));
    auto next = page.find("NextMarker");
    if (next == page.end() || !next->is_string() || next->get<std::string>().empty()) break;
    // A daemon handing back the same marker would otherwise loop forever.
    if (marker == next->get<std::string>()) return fail("ListFunctions repeated its NextMarker");
    marker = next->get<std::string>();
  }
  if (options.json)
    write_stdout(json{{"Functions", functions}}.dump(2) + "\n");
  else
    write_stdout(format_function_table(functions));
  return kExitOk;
}

int run_invoke(const ClientOptions& options, const HttpCall& call) {
  DaemonClient client(options.endpoint, kInvokeReadTimeout);
  auto response = client.send(call);
  if (!response) return fail(response.error());
  if (is_error(*response)) return fail(error_text(*response));
  if (options.log && response->has_header("X-Amz-Log-Result")) {
    auto tail = common::base64_decode(response->get_header_value("X-Amz-Log-Result"));
    if (!tail) return fail("X-Amz-Log-Result is not base64");
    std::fwrite(tail->data(), 1, tail->size(), stderr);
    if (!tail->empty() && tail->back() != '\n') std::fputc('\n', stderr);
    std::fflush(stderr);
  }
  // An Event call answers 202 with no body: print what identifies it (its log lines carry the id).
  if (response->status == 202) {
    write_stdout(
        json{{"StatusCode", 202}, {"RequestId", response->get_header_value("x-amzn-RequestId")}}
            .dump(2) +
        "\n");
    return kExitOk;
  }
  std::string body = response->body;
  if (!body.empty() && body.back() != '\n') body += '\n';
  write_stdout(body);
  return response->has_header("X-Amz-Function-Error") ? kExitFunctionError : kExitOk;
}

int run_logs(const ClientOptions& options, const HttpCall& call) {
  DaemonClient client(options.endpoint, options.follow ? kFollowReadTimeout : kDefaultReadTimeout);
  bool after_cr = false;
  size_t received = 0;
  auto sink = [&](std::string_view text) {
    received += text.size();
    write_stdout(readable_log_text(text, after_cr));
  };
  auto response = client.stream(call, sink);
  if (!response) return fail(response.error());
  if (is_error(*response)) return fail(error_text(*response));
  // Without --tail or --all the daemon sends the last 64 KiB; say so when there is more before it.
  if (!options.tail && !options.all && response->has_header("X-Runtimed-Log-Start") &&
      response->get_header_value("X-Runtimed-Log-Start") != "0") {
    std::fputs(
        "runtimed: showing the last 64 KiB of the log; use --tail N for the last N lines or "
        "--all for all of it\n",
        stderr);
  }
  const std::string base = call.target.substr(0, call.target.find('?'));
  // --all: the daemon answers at most 1 MiB at a time; ask on from where it stopped.
  while (options.all && received > 0 && response->has_header("X-Runtimed-Log-Offset")) {
    received = 0;
    HttpCall next{"GET", base + "?offset=" + response->get_header_value("X-Runtimed-Log-Offset")};
    response = client.stream(next, sink);
    if (!response) return fail(response.error());
    if (is_error(*response)) return fail(error_text(*response));
  }
  // --follow: the daemon long-polls (up to 20 s) for text after the offset it returned; ask again
  // from there until interrupted.
  while (options.follow && response->has_header("X-Runtimed-Log-Offset")) {
    HttpCall next{"GET",
                  base + "?follow=1&offset=" + response->get_header_value("X-Runtimed-Log-Offset")};
    response = client.stream(next, sink);
    if (!response) return fail(response.error());
    if (is_error(*response)) return fail(error_text(*response));
  }
  return kExitOk;
}

// Options every subcommand has, and the ones that name a function.
CLI::App* add_command(CLI::App& app, const char* name, const char* help, ClientOptions& o,
                      bool takes_name) {
  auto* cmd = app.add_subcommand(name, help);
  cmd->add_option("--endpoint", o.endpoint, "URL of the runtimed daemon")->capture_default_str();
  // The keys to sign with, from the shared credentials file (docs/security.md).
  cmd->add_option_function<std::string>(
         "--profile", [](const std::string& profile) { set_cli_profile(profile); },
         "Sign with this profile of ~/.aws/credentials")
      ->check([](const std::string& profile) -> std::string {
        set_cli_profile(profile);
        auto keys = find_aws_credentials();
        return keys ? "" : keys.error();
      });
  add_ca_bundle_option(cmd);
  if (takes_name) cmd->add_option("name", o.name, "Function name or ARN")->required();
  return cmd;
}

void add_code_options(CLI::App* cmd, ClientOptions& o) {
  auto* zip =
      cmd->add_option("--zip", o.zip_file, "Deployment package (.zip)")->check(CLI::ExistingFile);
  auto* code = cmd->add_option("--code", o.code_dir, "Directory to zip as the deployment package")
                   ->check(CLI::ExistingDirectory);
  zip->excludes(code);
}

void add_configuration_options(CLI::App* cmd, ClientOptions& o) {
  cmd->add_option("--handler", o.handler, "Handler (not needed for provided runtimes)");
  cmd->add_option("--memory", o.memory_mb, "Memory (MB)");
  cmd->add_option("--timeout", o.timeout_s, "Timeout (seconds)");
  cmd->add_option("--tmp", o.tmp_mb, "Ephemeral storage, /tmp (MB)");
  cmd->add_option("--env", o.env, "KEY=VALUE for the function's environment (repeatable)");
  cmd->add_option("--description", o.description, "Description");
}

}  // namespace

void add_client_commands(CLI::App& app, ClientCommands& commands) {
  commands.state = std::make_shared<ClientCommandState>();
  auto& s = *commands.state;

  auto* create = add_command(app, "create", "Create a function", s.create, true);
  create->add_option("--runtime", s.create.runtime, "Runtime, e.g. provided.al2023")->required();
  add_code_options(create, s.create);
  add_configuration_options(create, s.create);
  create->add_option("--role", s.create.role, "Execution role ARN")
      ->default_str(std::string(kDefaultRole));

  auto* update =
      add_command(app, "update", "Update a function's code and/or configuration", s.update, true);
  add_code_options(update, s.update);
  update->add_option("--runtime", s.update.runtime, "Runtime");
  add_configuration_options(update, s.update);

  auto* get = add_command(app, "get", "Show a function", s.get, true);
  auto* list = add_command(app, "list", "List all functions", s.list, false);
  list->add_flag("--json", s.list.json, "Print the ListFunctions JSON instead of a table");
  auto* del = add_command(app, "delete", "Delete a function", s.del, true);

  auto* invoke =
      add_command(app, "invoke", "Invoke a function and print its result", s.invoke, true);
  invoke->add_option("--payload", s.invoke.payload, "Event JSON, or @FILE")->capture_default_str();
  invoke->add_flag("--log", s.invoke.log, "Print the invocation's log tail to stderr");
  invoke->add_option("--type,--invocation-type", s.invoke.invocation_type, "Invocation type")
      ->check(CLI::IsMember({"RequestResponse", "Event", "DryRun"}))
      ->capture_default_str();

  auto* logs = add_command(app, "logs",
                           "Print a function's logs: by default the last 64 KiB (a note on stderr "
                           "says when earlier lines exist); --tail N or --all for more",
                           s.logs, true);
  logs->add_flag("--follow,-f", s.logs.follow, "Keep printing new lines as they are written");
  auto* tail = logs->add_option("--tail", s.logs.tail, "Only the last N lines (of the last 1 MiB)")
                   ->check(CLI::NonNegativeNumber);
  logs->add_flag("--all", s.logs.all,
                 "Everything in the current log file, not only the last 64 KiB")
      ->excludes(tail);

  s.subcommands = {{ClientCommand::Create, create}, {ClientCommand::Update, update},
                   {ClientCommand::Get, get},       {ClientCommand::List, list},
                   {ClientCommand::Delete, del},    {ClientCommand::Invoke, invoke},
                   {ClientCommand::Logs, logs}};
}

std::optional<ParsedClientCommand> parsed_client_command(const ClientCommands& commands) {
  if (!commands.state) return std::nullopt;
  const auto& s = *commands.state;
  for (const auto& [command, app] : s.subcommands) {
    if (!app->parsed()) continue;
    switch (command) {
      case ClientCommand::Create:
        return ParsedClientCommand{command, s.create};
      case ClientCommand::Update:
        return ParsedClientCommand{command, s.update};
      case ClientCommand::Get:
        return ParsedClientCommand{command, s.get};
      case ClientCommand::List:
        return ParsedClientCommand{command, s.list};
      case ClientCommand::Delete:
        return ParsedClientCommand{command, s.del};
      case ClientCommand::Invoke:
        return ParsedClientCommand{command, s.invoke};
      case ClientCommand::Logs:
        return ParsedClientCommand{command, s.logs};
    }
  }
  return std::nullopt;
}

std::optional<int> run_client_command(const ClientCommands& commands) {
  auto parsed = parsed_client_command(commands);
  if (!parsed) return std::nullopt;
  const auto& [command, options] = *parsed;
  if (command == ClientCommand::List) return run_list(options);
  auto calls = build_calls(command, options);
  if (!calls) return fail(calls.error());
  switch (command) {
    case ClientCommand::Invoke:
      return run_invoke(options, calls->front());
    case ClientCommand::Logs:
      return run_logs(options, calls->front());
    case ClientCommand::Delete:
      return run_simple(options, *calls, /*print=*/false);
    default:
      return run_simple(options, *calls, /*print=*/true);
  }
}

}  // namespace runtimed
