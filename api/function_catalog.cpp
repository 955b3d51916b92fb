#include "api/function_catalog.hpp"

namespace api {

std::string pool_key(const std::string& name, const std::string& version) {
  return version == "$LATEST" ? name : name + ":" + version;
}

void ConfigurationPatch::apply_to(common::FunctionConfig& c) const {
  if (runtime) c.runtime = *runtime;
  if (handler) c.handler = *handler;
  if (role) c.role = *role;
  if (description) c.description = *description;
  if (memory_mb) c.memory_mb = *memory_mb;
  if (timeout_s) c.timeout_s = *timeout_s;
  if (environment) c.environment = *environment;
  if (ephemeral_storage_mb) c.ephemeral_storage_mb = *ephemeral_storage_mb;
  if (dead_letter_target_arn) {
    if (dead_letter_target_arn->empty())
      c.dead_letter_target_arn.reset();
    else
      c.dead_letter_target_arn = *dead_letter_target_arn;
  }
}

}  // namespace api
