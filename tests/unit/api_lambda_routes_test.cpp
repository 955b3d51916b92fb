// The table of Lambda operations runtimed knows of but does not implement.
#include <gtest/gtest.h>

#include "api/lambda_routes.hpp"

namespace {

using api::unimplemented_operation;

TEST(LambdaRoutes, KnownUnimplementedOperationsAreNamed) {
  struct Case {
    const char* method;
    const char* path;
    const char* operation;
  };
  for (const Case& c : {
           Case{"GET", "/2015-03-31/functions/fn/policy", "GetPolicy"},
           Case{"POST", "/2015-03-31/functions/fn/policy", "AddPermission"},
           Case{"DELETE", "/2015-03-31/functions/fn/policy/sid-1", "RemovePermission"},
           Case{"GET", "/2018-10-31/layers/my-layer/versions/3/policy", "GetLayerVersionPolicy"},
           Case{"POST", "/2020-04-22/code-signing-configs/", "CreateCodeSigningConfig"},
           Case{"GET", "/2020-06-30/functions/fn/code-signing-config",
                "GetFunctionCodeSigningConfig"},
           Case{"GET", "/2024-08-31/functions/fn/recursion-config", "GetFunctionRecursionConfig"},
           Case{"PUT", "/2021-07-20/functions/fn/runtime-management-config",
                "PutRuntimeManagementConfig"},
           Case{"POST", "/2014-11-13/functions/fn/invoke-async/", "InvokeAsync"},
       }) {
    auto op = unimplemented_operation(c.method, c.path);
    ASSERT_TRUE(op) << c.method << " " << c.path;
    EXPECT_EQ(*op, c.operation) << c.method << " " << c.path;
  }
}

TEST(LambdaRoutes, ImplementedAndUnknownRoutesAreNotInTheTable) {
  for (auto [method, path] : {
           std::pair{"GET", "/2015-03-31/functions/fn"},
           std::pair{"POST", "/2015-03-31/functions"},
           std::pair{"POST", "/2015-03-31/functions/fn/versions"},
           std::pair{"GET", "/2015-03-31/functions/fn/aliases/live"},
           std::pair{"PUT", "/2015-03-31/functions/fn/code"},
           std::pair{"POST", "/2015-03-31/functions/fn/invocations"},
           std::pair{"POST", "/2021-11-15/functions/fn/response-streaming-invocations"},
           std::pair{"PUT", "/2017-10-31/functions/fn/concurrency"},
           std::pair{"GET", "/2019-09-25/functions/fn/event-invoke-config"},
           std::pair{"GET", "/2016-08-19/account-settings/"},
           std::pair{"PATCH", "/2015-03-31/functions/fn/versions"},  // no such method there
           std::pair{"GET", "/2015-03-31/functions//versions"},      // empty name segment
           std::pair{"GET", "/2015-03-31/functions/fn/versions/extra"},
           std::pair{"GET", "/2017-03-31/tags/"},
           std::pair{"GET", "/nothing/here"},
           std::pair{"GET", ""},
       }) {
    EXPECT_FALSE(unimplemented_operation(method, path)) << method << " " << path;
  }
}

}  // namespace
