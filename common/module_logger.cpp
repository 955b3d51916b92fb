#include "common/module_logger.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <mutex>

namespace common {

std::shared_ptr<spdlog::logger> module_logger(const std::string& name) {
  static std::mutex creating;  // two modules' first calls must not both register `name`
  std::lock_guard lock(creating);
  if (auto existing = spdlog::get(name)) return existing;
  auto created = std::make_shared<spdlog::logger>(
      name, std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  spdlog::initialize_logger(created);  // registers it with the global level and pattern
  return created;
}

}  // namespace common
