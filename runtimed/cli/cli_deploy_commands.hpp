// `runtimed deploy TEMPLATE --stack-name NAME` and `runtimed stack list|describe|delete`: a SAM
// template applied as a named stack through the daemon's HTTP APIs (docs/user-guide.md).
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>

namespace runtimed {

struct DeployCommandState;  // defined in cli_deploy_commands.cpp

struct DeployCommands {
  std::shared_ptr<DeployCommandState> state;
};

void add_deploy_commands(CLI::App& app, DeployCommands& commands);
// After parsing: the exit status of the deploy or stack subcommand given (0 ok, 2 failure), else
// nullopt.
std::optional<int> run_deploy_command(const DeployCommands& commands);

}  // namespace runtimed
