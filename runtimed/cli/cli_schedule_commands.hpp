// `runtimed schedule list|get|put|delete`: schedules (EventBridge Scheduler's expressions), through
// the daemon's /runtimed/v1/schedules endpoints.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>

namespace runtimed {

struct ScheduleCommandState;  // defined in cli_schedule_commands.cpp

struct ScheduleCommands {
  std::shared_ptr<ScheduleCommandState> state;
};

void add_schedule_commands(CLI::App& app, ScheduleCommands& commands);
// After parsing: the exit status of the schedule subcommand given (0 ok, 2 failure), else nullopt.
std::optional<int> run_schedule_command(const ScheduleCommands& commands);

}  // namespace runtimed
