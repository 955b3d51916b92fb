// runtimed deploy's planner: the exact, ordered HTTP calls a template's difference makes.
#include <gtest/gtest.h>

#include "runtimed/deploy/sam_template.hpp"
#include "runtimed/deploy/stack_plan.hpp"

namespace {

using namespace runtimed::deploy;
using Lines = std::vector<std::string>;

constexpr const char* kFull = R"(Resources:
  Jobs:
    Type: AWS::SQS::Queue
  Lib:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: /dev/null}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      InlineCode: "CODE"
      Layers: [!Ref Lib]
      AutoPublishAlias: live
      ProvisionedConcurrencyConfig: {ProvisionedConcurrentExecutions: 1}
      ReservedConcurrentExecutions: RESERVED
      EventInvokeConfig: {MaximumRetryAttempts: 0}
      FunctionUrlConfig: {AuthType: NONE}
      Tags: {team: TEAM}
      Events:
        Get: {Type: HttpApi, Properties: {Path: /hi, Method: GET}}
        Tick: {Type: Schedule, Properties: {Schedule: rate(1 minute)}}
        Work: {Type: SQS, Properties: {Queue: !GetAtt Jobs.Arn}}
)";

DesiredStack load(std::string code = "a", std::string reserved = "2", std::string team = "x",
                  std::string lib = "/dev/null") {
  std::string t = kFull;
  t.replace(t.find("CODE"), 4, code);
  t.replace(t.find("RESERVED"), 8, reserved);
  t.replace(t.find("TEAM"), 4, team);
  t.replace(t.find("/dev/null"), 9, lib);
  auto s = load_sam_template(
      {t, "template.yaml", "/", "st", "us-east-1", "000000000000", "http://d", {}});
  if (!s) throw std::runtime_error(s.error());
  return *s;
}

// What the daemon holds after `desired` was applied, with the attributes responses gave.
AppliedStack applied(const DesiredStack& desired) {
  AppliedStack out;
  for (const auto& d : desired.resources) out.resources[d.key] = applied_from_desired(d);
  out.resources["Lib"].attributes = {{"Arn", "arn:aws:lambda:us-east-1:0:layer:st-Lib:1"},
                                     {"Version", "1"}};
  out.resources["Fn"].attributes = {{"Arn", "arn:aws:lambda:us-east-1:0:function:st-Fn"}};
  out.resources["Fn.Events.Work"].attributes = {{"UUID", "u-1"}};
  return out;
}

TEST(StackPlanTest, FirstDeployCreatesEverythingInDependencyOrder) {
  const Plan plan = plan_changes(load(), {});
  EXPECT_EQ(
      call_lines(plan),
      (Lines{"POST /2018-10-31/layers/st-Lib/versions", "PUT /runtimed/v1/queues/st-Jobs",
             "POST /2015-03-31/functions", "PUT /2017-10-31/functions/st-Fn/concurrency",
             "PUT /2019-09-25/functions/st-Fn/event-invoke-config",
             "POST /2015-03-31/functions/st-Fn/versions",
             "POST /2015-03-31/functions/st-Fn/aliases",
             "PUT /2019-09-30/functions/st-Fn/provisioned-concurrency?Qualifier=live",
             "POST /2021-10-31/functions/st-Fn/url?Qualifier=live",
             "PUT /runtimed/v1/http-apis/st-ServerlessHttpApi",
             "PUT /runtimed/v1/schedules/st-Fn-Tick", "POST /2015-03-31/event-source-mappings/"}));
  // The function names the layer by a token the layer's publish response fills in; the alias
  // names the version the publish before it made.
  const auto& create_fn = plan.calls[2];
  EXPECT_NE(create_fn.call.body.find("\"Layers\":[\"${runtimed:Lib.Arn}\"]"), std::string::npos);
  EXPECT_NE(create_fn.call.body.find("\"Tags\":{\"team\":\"x\"}"), std::string::npos);
  EXPECT_EQ(plan.calls[0].captures.at("Arn"), "LayerVersionArn");
  EXPECT_EQ(plan.calls[6].call.body,
            R"({"FunctionVersion":"${runtimed:Fn.Alias.Version}","Name":"live"})");
}

TEST(StackPlanTest, AnUnchangedTemplatePlansNothing) {
  const DesiredStack d = load();
  const Plan plan = plan_changes(d, applied(d));
  EXPECT_TRUE(plan.calls.empty()) << ::testing::PrintToString(call_lines(plan));
  EXPECT_TRUE(plan.summary.empty());
}

TEST(StackPlanTest, AChangedSettingUpdatesOnlyThatResource) {
  const Plan plan = plan_changes(load("a", "7"), applied(load()));
  EXPECT_EQ(call_lines(plan), (Lines{"PUT /2017-10-31/functions/st-Fn/concurrency"}));
  EXPECT_EQ(plan.calls[0].call.body, R"({"ReservedConcurrentExecutions":7})");
  EXPECT_EQ(plan.summary, (Lines{"update ReservedConcurrency Fn.ReservedConcurrency (st-Fn)"}));
}

TEST(StackPlanTest, NewCodeUpdatesTheCodeAndRepublishesTheAlias) {
  const Plan plan = plan_changes(load("b"), applied(load()));
  EXPECT_EQ(call_lines(plan), (Lines{"PUT /2015-03-31/functions/st-Fn/code",
                                     "POST /2015-03-31/functions/st-Fn/versions",
                                     "PUT /2015-03-31/functions/st-Fn/aliases/live"}));
}

TEST(StackPlanTest, ChangedTagsAreTaggedAndRemovedOnesUntagged) {
  AppliedStack before = applied(load());
  before.resources["Fn"].spec["Tags"] = {{"team", "x"}, {"old", "1"}};
  before.resources["Fn"].hashes["tags"] = "stale";
  const Plan plan = plan_changes(load("a", "2", "y"), before);
  EXPECT_EQ(call_lines(plan),
            (Lines{"POST /2017-03-31/tags/arn%3Aaws%3Alambda%3Aus-east-1%3A0%3Afunction%3Ast-Fn",
                   "DELETE "
                   "/2017-03-31/tags/arn%3Aaws%3Alambda%3Aus-east-1%3A0%3Afunction%3Ast-Fn"
                   "?tagKeys=old"}));
}

TEST(StackPlanTest, ANewLayerVersionIsPublishedUsedThenThePreviousDeleted) {
  const Plan plan = plan_changes(load("a", "2", "x", "/etc/os-release"), applied(load()));
  EXPECT_EQ(call_lines(plan), (Lines{"POST /2018-10-31/layers/st-Lib/versions",
                                     "PUT /2015-03-31/functions/st-Fn/configuration",
                                     "POST /2015-03-31/functions/st-Fn/versions",
                                     "PUT /2015-03-31/functions/st-Fn/aliases/live",
                                     "DELETE /2018-10-31/layers/st-Lib/versions/1"}));
  EXPECT_FALSE(plan.calls.back().forget);  // the key now names the new version
}

TEST(StackPlanTest, RemovedResourcesAreDeletedInReverseOrder) {
  auto empty = load_sam_template({"Resources:\n  Q:\n    Type: AWS::SQS::Queue\n",
                                  "t.yaml",
                                  "/",
                                  "st",
                                  "us-east-1",
                                  "0",
                                  "http://d",
                                  {}});
  ASSERT_TRUE(empty) << empty.error();
  const Plan plan = plan_changes(*empty, applied(load()));
  EXPECT_EQ(
      call_lines(plan),
      (Lines{"PUT /runtimed/v1/queues/st-Q", "DELETE /2015-03-31/event-source-mappings/u-1",
             "DELETE /runtimed/v1/schedules/st-Fn-Tick",
             "DELETE /runtimed/v1/http-apis/st-ServerlessHttpApi",
             "DELETE /2021-10-31/functions/st-Fn/url?Qualifier=live",
             "DELETE /2019-09-30/functions/st-Fn/provisioned-concurrency?Qualifier=live",
             "DELETE /2015-03-31/functions/st-Fn/aliases/live",
             "DELETE /2019-09-25/functions/st-Fn/event-invoke-config",
             "DELETE /2017-10-31/functions/st-Fn/concurrency", "DELETE /2015-03-31/functions/st-Fn",
             "DELETE /runtimed/v1/queues/st-Jobs", "DELETE /2018-10-31/layers/st-Lib/versions/1"}));
  EXPECT_EQ(call_lines(plan_deletion(applied(load()))).size(), 11u);
}

TEST(StackPlanTest, ARenamedFunctionIsCreatedThenTheOldOneDeleted) {
  auto load_named = [](const std::string& name) {
    auto s =
        load_sam_template({"Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
                           "    Properties: {FunctionName: " +
                               name + ", Runtime: python3.12, Handler: i.h, InlineCode: x}\n",
                           "t.yaml",
                           "/",
                           "st",
                           "us-east-1",
                           "0",
                           "http://d",
                           {}});
    if (!s) throw std::runtime_error(s.error());
    return *s;
  };
  AppliedStack before;
  for (const auto& d : load_named("old-name").resources)
    before.resources[d.key] = applied_from_desired(d);
  const Plan plan = plan_changes(load_named("new-name"), before);
  EXPECT_EQ(call_lines(plan),
            (Lines{"POST /2015-03-31/functions", "DELETE /2015-03-31/functions/old-name"}));
  EXPECT_FALSE(plan.calls.back().forget);  // the key now names new-name
}

TEST(StackPlanTest, AMappingMovedToAnotherQueueIsReplacedOthersUpdatedInPlace) {
  AppliedStack before = applied(load());
  before.resources["Fn.Events.Work"].spec["EventSourceArn"] = "arn:aws:sqs:us-east-1:0:elsewhere";
  before.resources["Fn.Events.Work"].hashes["spec"] = "stale";
  Plan plan = plan_changes(load(), before);
  EXPECT_EQ(call_lines(plan), (Lines{"DELETE /2015-03-31/event-source-mappings/u-1",
                                     "POST /2015-03-31/event-source-mappings/"}));
  before = applied(load());
  before.resources["Fn.Events.Work"].hashes["spec"] = "stale";
  plan = plan_changes(load(), before);
  EXPECT_EQ(call_lines(plan), (Lines{"PUT /2015-03-31/event-source-mappings/u-1"}));
  EXPECT_EQ(plan.calls[0].call.body.find("EventSourceArn"), std::string::npos);
}

TEST(StackPlanTest, RecordRoundTripsThroughJson) {
  const AppliedStack a = applied(load());
  const AppliedStack back = applied_from_record(record_of(a));
  EXPECT_EQ(record_of(back), record_of(a));
  EXPECT_TRUE(plan_changes(load(), back).calls.empty());
}

}  // namespace
