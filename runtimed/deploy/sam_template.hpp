// Reads a SAM template (a subset; docs/user-guide.md "Deploying a SAM template") into the
// resources a deploy wants: YAML with CloudFormation's short-form tags, parameters, Globals,
// intrinsic functions, and each supported resource type turned into runtimed's API bodies.
#pragma once

#include <expected>
#include <filesystem>
#include <map>
#include <string>

#include "runtimed/deploy/desired_stack.hpp"

namespace runtimed::deploy {

struct TemplateInput {
  std::string text;                // the YAML
  std::string file_label;          // the template's name in error messages
  std::filesystem::path base_dir;  // CodeUri and ContentUri are relative to it
  std::string stack_name;
  std::string region;
  std::string account_id;
  std::string endpoint;  // the daemon's URL (a queue's Ref is its URL there)
  std::map<std::string, std::string> parameter_overrides;
};

// The desired stack, or an error naming what is wrong and its template line ("template.yaml line
// 12: ..."). Reads the code directories and zips CodeUri names; changes nothing.
std::expected<DesiredStack, std::string> load_sam_template(const TemplateInput& input);

// "Key=Value" → map; an entry without '=' is an error.
std::expected<std::map<std::string, std::string>, std::string> parse_parameter_overrides(
    const std::vector<std::string>& assignments);

}  // namespace runtimed::deploy
