// Private glue between CgroupManager and the v1 / v2 environment implementations.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "sandbox/cgroup.hpp"

namespace sandbox::cgimpl {

namespace fs = std::filesystem;

// The controllers a v2 environment needs delegated, in the order written to subtree_control.
inline constexpr std::string_view kV2Controllers[] = {"memory", "cpu", "pids"};

// The instance directories an environment is created under.
struct V1InstanceDirs {
  std::map<std::string, fs::path>
      by_controller;                // "memory", "cpu", "pids", "freezer" -> instance dir
  std::optional<fs::path> unified;  // hybrid host: cgroup2 instance dir for freeze/kill
};

Result<std::unique_ptr<EnvironmentCgroup>> create_v1_environment(const V1InstanceDirs& instance,
                                                                 std::string name, bool fake);
Result<std::unique_ptr<EnvironmentCgroup>> create_v2_environment(const fs::path& instance_dir,
                                                                 std::string name, bool fake);

// v2: fails naming the first of kV2Controllers missing from <top>/cgroup.controllers.
Result<void> check_v2_delegation(const fs::path& top);
// v2: moves this whole process into <own>/supervisor so <own> may enable controllers for its
// children (no process may sit in a cgroup whose subtree_control is set).
Result<void> move_self_to_supervisor(const fs::path& own, bool fake);
// v2: writes "+memory +cpu +pids" to cgroup.subtree_control of each dir, top-down.
Result<void> enable_v2_controllers(const std::vector<fs::path>& chain, bool fake);

// cgroup2 directory operations, shared by v2 environments and v1 ones on hybrid hosts.
Result<void> cg2_set_frozen(const fs::path& dir, bool frozen, bool fake);
Result<void> cg2_kill(const fs::path& dir, bool fake);
bool cg2_populated(const fs::path& dir);

}  // namespace sandbox::cgimpl
