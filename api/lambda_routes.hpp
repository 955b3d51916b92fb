// Lambda REST operations runtimed knows of but does not implement. They answer 501
// NotImplementedException naming the operation, so an SDK or Terraform reports "not supported"
// instead of reading a 404 ResourceNotFoundException as "the function does not exist".
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace api {

// The Lambda operation (e.g. "PublishVersion") that `method` `path` is, when runtimed does not
// implement it; nullopt for implemented routes and for paths that are no Lambda operation at all.
std::optional<std::string_view> unimplemented_operation(std::string_view method,
                                                        std::string_view path);

}  // namespace api
