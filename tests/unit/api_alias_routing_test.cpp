// AliasRouting: Lambda's RoutingConfig rules, and the weighted choice between two versions.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "api/alias_routing.hpp"

namespace {

using api::ApiErrorType;
using api::make_alias_routing;
using ::testing::HasSubstr;

TEST(AliasRouting, PlainAliasAlwaysRunsItsVersion) {
  auto routing = make_alias_routing("3", {});
  ASSERT_TRUE(routing) << routing.error().message;
  EXPECT_FALSE(routing->additional_version);
  for (double draw : {0.0, 0.2, 0.5, 0.999}) EXPECT_EQ(routing->choose(draw), "3");
  auto latest = make_alias_routing("$LATEST", {});
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->choose(0.0), "$LATEST");
}

TEST(AliasRouting, DrawBelowTheWeightRunsTheAdditionalVersion) {
  auto routing = make_alias_routing("1", {{"2", 0.2}});
  ASSERT_TRUE(routing) << routing.error().message;
  EXPECT_EQ(routing->choose(0.0), "2");
  EXPECT_EQ(routing->choose(0.1999), "2");
  EXPECT_EQ(routing->choose(0.2), "1");
  EXPECT_EQ(routing->choose(0.9999), "1");
  auto none = make_alias_routing("1", {{"2", 0.0}});
  ASSERT_TRUE(none);
  EXPECT_EQ(none->choose(0.0), "1");
  auto all = make_alias_routing("1", {{"2", 1.0}});
  ASSERT_TRUE(all);
  EXPECT_EQ(all->choose(0.9999), "2");
}

TEST(AliasRouting, EightyTwentySplitHoldsOverManyDraws) {
  auto routing = make_alias_routing("1", {{"2", 0.2}});
  ASSERT_TRUE(routing);
  constexpr int kDraws = 20000;
  int additional = 0;
  for (int i = 0; i < kDraws; ++i) additional += routing->choose(api::routing_draw()) == "2";
  // 20% +- 2 points: over 20000 draws that is more than 7 standard deviations.
  EXPECT_NEAR(static_cast<double>(additional) / kDraws, 0.2, 0.02);
}

TEST(AliasRouting, DrawsAreInTheUnitInterval) {
  for (int i = 0; i < 10000; ++i) {
    const double d = api::routing_draw();
    ASSERT_GE(d, 0.0);
    ASSERT_LT(d, 1.0);
  }
}

TEST(AliasRouting, MisuseIsInvalidParameterValueInLambdasWords) {
  struct Case {
    std::string version;
    std::map<std::string, double> weights;
    const char* says;
  };
  for (const Case& c : {
           Case{"prod", {}, "at 'functionVersion' failed to satisfy constraint"},
           Case{"1", {{"2", 0.1}, {"3", 0.1}}, "cannot be greater than 1"},
           Case{"$LATEST", {{"2", 0.5}}, "$LATEST is not supported"},
           Case{"1", {{"$LATEST", 0.5}}, "Map keys must satisfy constraint"},
           Case{"1", {{"2", 1.5}}, "less than or equal to 1.0"},
           Case{"1", {{"2", -0.1}}, "greater than or equal to 0.0"},
           Case{"1", {{"1", 0.5}}, "Function version 1 is already included in routing"},
       }) {
    auto routing = make_alias_routing(c.version, c.weights);
    ASSERT_FALSE(routing) << c.version;
    EXPECT_EQ(routing.error().type, ApiErrorType::InvalidParameterValue) << c.says;
    EXPECT_THAT(routing.error().message, HasSubstr(c.says));
  }
}

}  // namespace
