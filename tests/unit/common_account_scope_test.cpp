#include <gtest/gtest.h>

#include "common/account_scope.hpp"
#include "common/lambda_identity.hpp"

namespace {

TEST(AccountScope, TheDaemonsOwnAccountKeepsBareNames) {
  EXPECT_EQ(common::scoped_name("", "fn"), "fn");
  EXPECT_EQ(common::scoped_name("111111111111", "fn"), "111111111111~fn");
  const auto scoped = common::split_scoped_name("111111111111~fn");
  EXPECT_EQ(scoped.account, "111111111111");
  EXPECT_EQ(scoped.name, "fn");
  EXPECT_EQ(common::split_scoped_name("fn").account, "");
  EXPECT_EQ(common::display_name("222222222222~queue-1"), "queue-1");
  EXPECT_TRUE(common::in_account("fn", ""));
  EXPECT_FALSE(common::in_account("fn", "111111111111"));
  EXPECT_TRUE(common::in_account("111111111111~fn", "111111111111"));
  EXPECT_FALSE(common::in_account("111111111111~fn", ""));
  EXPECT_FALSE(common::in_account("111111111111~fn", "222222222222"));
}

TEST(AccountScope, ArnsNameTheOwningAccount) {
  const common::LambdaIdentity daemon{"eu-west-1", "000000000000"};
  EXPECT_EQ(common::function_arn(daemon, "fn"),
            "arn:aws:lambda:eu-west-1:000000000000:function:fn");
  EXPECT_EQ(common::function_arn(daemon, "111111111111~fn"),
            "arn:aws:lambda:eu-west-1:111111111111:function:fn");
  EXPECT_EQ(common::account_of(daemon, "fn"), "000000000000");
  EXPECT_EQ(common::account_of(daemon, "111111111111~fn"), "111111111111");
}

}  // namespace
