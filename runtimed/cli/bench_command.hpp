// `runtimed bench` (the cold-start load tester, runtimed/bench/) and `runtimed drain NAME` (discard
// a function's idle environments, so its next invocation starts cold).
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>

namespace runtimed {

struct BenchCommandState;

struct BenchCommands {
  std::shared_ptr<BenchCommandState> state;
};

void add_bench_commands(CLI::App& app, BenchCommands& commands);
// After parsing: the exit status of `bench` or `drain` if one was given (0 ok, 1 a --check
// threshold failed, 2 the run could not be made), else nullopt.
std::optional<int> run_bench_command(const BenchCommands& commands);

}  // namespace runtimed
