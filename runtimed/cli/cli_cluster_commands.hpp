// `runtimed cluster status`: the nodes of the cluster a daemon belongs to (serve --cluster),
// through its /runtimed/v1/cluster endpoint.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>

namespace runtimed {

struct ClusterCommandState;  // defined in cli_cluster_commands.cpp

struct ClusterCommands {
  std::shared_ptr<ClusterCommandState> state;
};

void add_cluster_commands(CLI::App& app, ClusterCommands& commands);
// After parsing: the exit status of the cluster subcommand given (0 ok, 2 failure), else nullopt.
std::optional<int> run_cluster_command(const ClusterCommands& commands);

// GET /runtimed/v1/cluster's answer as a table: one node a line, the answering node marked.
std::string format_cluster_status(const nlohmann::json& body);

}  // namespace runtimed
