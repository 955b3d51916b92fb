// Every module logger follows the one global level, whether made before or after it was set.
#include <gtest/gtest.h>

#include "common/module_logger.hpp"

namespace {

TEST(ModuleLogger, SameNameIsTheSameLogger) {
  EXPECT_EQ(common::module_logger("test_same"), common::module_logger("test_same"));
}

TEST(ModuleLogger, FollowsTheGlobalLevelSetBeforeAndAfterItWasMade) {
  spdlog::set_level(spdlog::level::err);
  auto early = common::module_logger("test_early");
  EXPECT_EQ(early->level(), spdlog::level::err);
  spdlog::set_level(spdlog::level::debug);
  auto late = common::module_logger("test_late");
  EXPECT_EQ(early->level(), spdlog::level::debug);
  EXPECT_EQ(late->level(), spdlog::level::debug);
  spdlog::set_level(spdlog::level::warn);
}

}  // namespace
