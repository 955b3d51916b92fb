// resolve_function_name: Lambda's FunctionName formats, and what is not this daemon's.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "api/function_name.hpp"

namespace {

using api::ApiErrorType;
using api::LambdaIdentity;
using api::resolve_function_name;
using ::testing::HasSubstr;

const LambdaIdentity kHere{"eu-central-1", "123456789012"};

TEST(FunctionName, EveryDocumentedFormatNamesTheFunction) {
  for (const char* id : {
           "foo",
           "foo:$LATEST",
           "123456789012:function:foo",
           "123456789012:function:foo:$LATEST",
           "arn:aws:lambda:eu-central-1:123456789012:function:foo",
           "arn:aws:lambda:eu-central-1:123456789012:function:foo:$LATEST",
           "arn:aws:lambda:eu-central-1:123456789012:function:My_Func-2",
       }) {
    auto name = resolve_function_name(id, "", kHere);
    ASSERT_TRUE(name) << id << ": " << name.error().message;
    EXPECT_EQ(*name, std::string(id).find("My_Func") != std::string::npos ? "My_Func-2" : "foo")
        << id;
  }
  auto q = resolve_function_name("foo", "$LATEST", kHere);
  ASSERT_TRUE(q);
  EXPECT_EQ(*q, "foo");
}

TEST(FunctionName, AnotherRegionAccountOrPartitionIsNotFound) {
  for (const char* id : {
           "arn:aws:lambda:eu-west-1:123456789012:function:foo",
           "arn:aws:lambda:eu-central-1:111111111111:function:foo",
           "arn:aws:lambda:eu-west-1:111111111111:function:foo:$LATEST",
           "arn:aws-cn:lambda:eu-central-1:123456789012:function:foo",
           "111111111111:function:foo",
       }) {
    auto name = resolve_function_name(id, "", kHere);
    ASSERT_FALSE(name) << id;
    EXPECT_EQ(name.error().type, ApiErrorType::ResourceNotFound) << id;
    EXPECT_EQ(name.error().message, std::string("Function not found: ") + id);
  }
}

TEST(FunctionName, QualifiersOtherThanLatestAreNotFoundWithTheQualifiedArn) {
  auto alias = resolve_function_name("foo:prod", "", kHere);
  ASSERT_FALSE(alias);
  EXPECT_EQ(alias.error().type, ApiErrorType::ResourceNotFound);
  EXPECT_EQ(alias.error().message,
            "Function not found: arn:aws:lambda:eu-central-1:123456789012:function:foo:prod");
  auto version = resolve_function_name("foo", "1", kHere);
  ASSERT_FALSE(version);
  EXPECT_THAT(version.error().message, HasSubstr("function:foo:1"));
}

TEST(FunctionName, QualifierInNameAndQueryMustAgree) {
  auto r = resolve_function_name("foo:$LATEST", "prod", kHere);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().type, ApiErrorType::InvalidParameterValue);
  EXPECT_THAT(r.error().message, HasSubstr("derived qualifier"));
}

TEST(FunctionName, MalformedNamesAreInvalidParameterValue) {
  for (const std::string& id : std::vector<std::string>{
           std::string(""),
           std::string(65, 'a'),  // a bare name is 1-64
           std::string("arn:aws:lambda:eu-central-1:123456789012:function:") +
               std::string(141, 'a'),
           std::string("foo bar"),
           std::string("foo/bar"),
           std::string("foo:"),
           std::string("foo:bad qualifier"),
           std::string("function:foo:bar:baz"),
           std::string("12345:function:foo"),  // account is 12 digits
           std::string("123456789012:func:foo"),
           std::string("arn:aws:s3:eu-central-1:123456789012:function:foo"),
           std::string("arn:aws:lambda:EU-CENTRAL-1:123456789012:function:foo"),
           std::string("arn:aws:lambda:eu-central-1:123456789012:layer:foo"),
           std::string("arn:azure:lambda:eu-central-1:123456789012:function:foo"),
           std::string("arn:aws:lambda:eu-central-1:123456789012:function:"),
           std::string("a:b:c:d:e"),
       }) {
    auto name = resolve_function_name(id, "", kHere);
    ASSERT_FALSE(name) << id;
    EXPECT_EQ(name.error().type, ApiErrorType::InvalidParameterValue) << id;
    EXPECT_THAT(name.error().message, HasSubstr("at 'functionName' failed to satisfy constraint"));
  }
}

TEST(FunctionName, QualifiedResolutionKeepsVersionsAndAliasesFromEveryFormat) {
  struct Case {
    const char* id;
    const char* query;
    std::optional<std::string> qualifier;
  };
  for (const Case& c : std::vector<Case>{
           {"foo", "", std::nullopt},
           {"foo:$LATEST", "", "$LATEST"},
           {"foo:3", "", "3"},
           {"foo", "prod", "prod"},
           {"foo:prod", "prod", "prod"},
           {"123456789012:function:foo:7", "", "7"},
           {"arn:aws:lambda:eu-central-1:123456789012:function:foo:live-2", "", "live-2"},
           {"arn:aws:lambda:eu-central-1:123456789012:function:foo", "12", "12"},
       }) {
    auto r = api::resolve_qualified_function_name(c.id, c.query, kHere);
    ASSERT_TRUE(r) << c.id << ": " << r.error().message;
    EXPECT_EQ(r->name, "foo") << c.id;
    EXPECT_EQ(r->qualifier, c.qualifier) << c.id;
  }
}

TEST(FunctionName, QualifiedResolutionStillRefusesWhatIsNotHereOrMalformed) {
  auto other = api::resolve_qualified_function_name(
      "arn:aws:lambda:eu-west-1:123456789012:function:foo:1", "", kHere);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().type, ApiErrorType::ResourceNotFound);
  auto disagree = api::resolve_qualified_function_name("foo:1", "2", kHere);
  ASSERT_FALSE(disagree);
  EXPECT_EQ(disagree.error().type, ApiErrorType::InvalidParameterValue);
  auto bad = api::resolve_qualified_function_name("foo:a.b", "", kHere);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().type, ApiErrorType::InvalidParameterValue);
}

TEST(FunctionName, VersionQualifiersAreDigitsOnly) {
  EXPECT_TRUE(api::is_version_qualifier("1"));
  EXPECT_TRUE(api::is_version_qualifier("42"));
  EXPECT_FALSE(api::is_version_qualifier("$LATEST"));
  EXPECT_FALSE(api::is_version_qualifier("prod"));
  EXPECT_FALSE(api::is_version_qualifier("1a"));
  EXPECT_FALSE(api::is_version_qualifier(""));
}

TEST(FunctionName, ArnIsBuiltFromTheIdentity) {
  EXPECT_EQ(api::function_arn(kHere, "foo"),
            "arn:aws:lambda:eu-central-1:123456789012:function:foo");
}

}  // namespace
