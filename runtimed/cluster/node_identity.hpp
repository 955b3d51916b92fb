// A node's id in the cluster: --node-id when given, else one generated on the first start and
// kept in the state directory, so a restarted daemon is the same node (under a new fencing token).
#pragma once

#include <expected>
#include <filesystem>
#include <string>

namespace cluster {

// The id kept in `state_dir`/cluster-node-id, made ("node-" and 12 hex digits) when absent.
std::expected<std::string, std::string> stable_node_id(const std::filesystem::path& state_dir);

// Node ids are 1-128 characters of [A-Za-z0-9._-]: they appear in logs and the status table.
bool valid_node_id(const std::string& id);

}  // namespace cluster
