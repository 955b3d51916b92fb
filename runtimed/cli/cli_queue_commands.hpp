// `runtimed queue list|receive|delete-message|purge|redrive`: the local message queues (dead-letter
// queues and destinations), through the daemon's /runtimed/v1/queues endpoints.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>

namespace runtimed {

struct QueueCommandState;  // defined in cli_queue_commands.cpp

struct QueueCommands {
  std::shared_ptr<QueueCommandState> state;
};

void add_queue_commands(CLI::App& app, QueueCommands& commands);
// After parsing: the exit status of the queue subcommand given (0 ok, 2 failure), else nullopt.
std::optional<int> run_queue_command(const QueueCommands& commands);

}  // namespace runtimed
