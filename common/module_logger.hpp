// The one place module loggers are made: one named spdlog logger per module ("sandbox", "http",
// "scheduler", ...), all writing to stderr at the level `serve --log-level` set (spdlog's global
// level, which spdlog::set_level also applies to loggers made before it).
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace common {

// The logger called `name`, made and registered on first use; safe from any thread.
std::shared_ptr<spdlog::logger> module_logger(const std::string& name);

}  // namespace common
