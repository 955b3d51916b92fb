// The command-line client: `runtimed create|update|get|list|delete|invoke|logs`, speaking only
// HTTP to a running daemon (the AWS Lambda REST API and runtimed's own /runtimed/v1 endpoints).
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>

namespace runtimed {

struct ClientCommandState;  // defined in cli_commands.cpp

struct ClientCommands {
  std::shared_ptr<ClientCommandState> state;
};

// Registers the client subcommands on `app`; their options are stored in `commands`.
void add_client_commands(CLI::App& app, ClientCommands& commands);
// After parsing: runs the client subcommand that was given and returns the exit status
// (0 success, 1 function error, 2 API or connection error), or nullopt if none was given.
std::optional<int> run_client_command(const ClientCommands& commands);

}  // namespace runtimed
