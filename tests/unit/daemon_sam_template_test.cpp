// runtimed deploy's template reader: YAML with CloudFormation's tags, intrinsic functions,
// parameters, Globals, events, and errors that name the template line.
#include <gtest/gtest.h>

#include <algorithm>

#include "runtimed/deploy/sam_template.hpp"

namespace {

using namespace runtimed::deploy;
using nlohmann::json;

TemplateInput input(std::string text, std::map<std::string, std::string> overrides = {}) {
  return {std::move(text), "template.yaml", "/nonexistent",       "st",
          "eu-west-1",     "123456789012",  "http://daemon:9000", std::move(overrides)};
}

const DesiredResource& find(const DesiredStack& s, const std::string& key) {
  auto it = std::ranges::find_if(s.resources, [&](const auto& r) { return r.key == key; });
  if (it == s.resources.end()) throw std::runtime_error("no resource " + key);
  return *it;
}

constexpr const char* kIntrinsics = R"(
Parameters:
  Stage:
    Type: String
    Default: dev
  Size:
    Type: Number
    Default: 256
Resources:
  Q:
    Type: AWS::SQS::Queue
  Lib:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: /dev/null
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      InlineCode: "def handler(e, c): return e"
      MemorySize: !Ref Size
      Layers: [!Ref Lib]
      Environment:
        Variables:
          SHORT_REF: !Ref Stage
          LONG_REF: {Ref: Stage}
          SUB: !Sub "${Stage}-${AWS::Region}-${AWS::AccountId}-${AWS::StackName}"
          SUB_ATTR: !Sub "q=${Q.Arn} name=${Q.QueueName} lit=${!Stage}"
          SUB_LIST: !Sub ["${A}/${B}", {A: !Ref Stage, B: x}]
          LONG_SUB: {"Fn::Sub": "${Stage}!"}
          DOTTED: !GetAtt Q.Arn
          LISTED: !GetAtt [Q, QueueName]
          LONG_GETATT: {"Fn::GetAtt": [Q, Arn]}
          JOIN: !Join [":", [a, !Ref Stage, 3]]
          LONG_JOIN: {"Fn::Join": ["-", [x, y]]}
          QUEUE_URL: !Ref Q
          NUMBER: 42
)";

TEST(SamTemplateTest, ShortAndLongFormIntrinsicsResolve) {
  auto s = load_sam_template(input(kIntrinsics));
  ASSERT_TRUE(s) << s.error();
  const json& v = find(*s, "Fn").spec["Environment"]["Variables"];
  EXPECT_EQ(v["SHORT_REF"], "dev");
  EXPECT_EQ(v["LONG_REF"], "dev");
  EXPECT_EQ(v["SUB"], "dev-eu-west-1-123456789012-st");
  EXPECT_EQ(v["SUB_ATTR"], "q=arn:aws:sqs:eu-west-1:123456789012:st-Q name=st-Q lit=${Stage}");
  EXPECT_EQ(v["SUB_LIST"], "dev/x");
  EXPECT_EQ(v["LONG_SUB"], "dev!");
  EXPECT_EQ(v["DOTTED"], "arn:aws:sqs:eu-west-1:123456789012:st-Q");
  EXPECT_EQ(v["LISTED"], "st-Q");
  EXPECT_EQ(v["LONG_GETATT"], "arn:aws:sqs:eu-west-1:123456789012:st-Q");
  EXPECT_EQ(v["JOIN"], "a:dev:3");
  EXPECT_EQ(v["LONG_JOIN"], "x-y");
  EXPECT_EQ(v["QUEUE_URL"], "http://daemon:9000/runtimed/v1/queues/st-Q");
  EXPECT_EQ(v["NUMBER"], "42");  // environment values are strings
  EXPECT_EQ(find(*s, "Fn").spec["MemorySize"], 256);
  // A layer's ARN is known once it is published: a token the deploy fills in.
  EXPECT_EQ(find(*s, "Fn").spec["Layers"], json::array({"${runtimed:Lib.Arn}"}));
}

TEST(SamTemplateTest, ParameterOverridesReplaceDefaultsAndAreChecked) {
  constexpr const char* kTemplate = R"(
Parameters:
  Stage:
    Type: String
    AllowedValues: [dev, prod]
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: !Sub "app-${Stage}"
      Runtime: python3.12
      Handler: index.handler
      InlineCode: "x"
)";
  auto missing = load_sam_template(input(kTemplate));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error(),
            "template.yaml line 3: parameter Stage has no Default and no override");
  auto ok = load_sam_template(input(kTemplate, {{"Stage", "prod"}}));
  ASSERT_TRUE(ok) << ok.error();
  EXPECT_EQ(find(*ok, "Fn").physical, "app-prod");
  auto not_allowed = load_sam_template(input(kTemplate, {{"Stage", "qa"}}));
  ASSERT_FALSE(not_allowed);
  EXPECT_EQ(not_allowed.error(),
            "template.yaml line 5: parameter Stage: 'qa' is not one of AllowedValues");
  auto unknown = load_sam_template(input(kTemplate, {{"Stage", "dev"}, {"Nope", "1"}}));
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().find("Nope, which the template does not declare"), std::string::npos);
}

TEST(SamTemplateTest, GlobalsMergeMapsReplaceScalarsAndAppendLists) {
  auto s = load_sam_template(input(R"(
Globals:
  Function:
    Runtime: python3.12
    Timeout: 10
    MemorySize: 256
    Layers: [arn:aws:lambda:eu-west-1:123456789012:layer:base:1]
    Environment:
      Variables: {A: global, B: global}
    Tags: {team: core}
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: index.handler
      InlineCode: "x"
      Timeout: 30
      Layers: [arn:aws:lambda:eu-west-1:123456789012:layer:extra:2]
      Environment:
        Variables: {B: own}
)"));
  ASSERT_TRUE(s) << s.error();
  const json& spec = find(*s, "Fn").spec;
  EXPECT_EQ(spec["Runtime"], "python3.12");
  EXPECT_EQ(spec["Timeout"], 30);
  EXPECT_EQ(spec["MemorySize"], 256);
  EXPECT_EQ(spec["Environment"]["Variables"], (json{{"A", "global"}, {"B", "own"}}));
  EXPECT_EQ(spec["Layers"], (json{"arn:aws:lambda:eu-west-1:123456789012:layer:base:1",
                                  "arn:aws:lambda:eu-west-1:123456789012:layer:extra:2"}));
  EXPECT_EQ(spec["Tags"], (json{{"team", "core"}}));
  EXPECT_EQ(find(*s, "Fn").physical, "st-Fn");
}

TEST(SamTemplateTest, UnsupportedResourceTypeNamesItAndItsLine) {
  auto s = load_sam_template(input(R"(Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties: {Runtime: python3.12, Handler: i.h, InlineCode: x}
  Table:
    Type: AWS::DynamoDB::Table
)"));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error(),
            "template.yaml line 6: resource Table has type AWS::DynamoDB::Table, which runtimed "
            "deploy does not support");
}

TEST(SamTemplateTest, UnsupportedPropertyEventAndIntrinsicNameTheirLines) {
  auto property = load_sam_template(input(R"(Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: i.h
      InlineCode: x
      VpcConfig: {}
)"));
  ASSERT_FALSE(property);
  EXPECT_EQ(property.error(),
            "template.yaml line 8: AWS::Serverless::Function property 'VpcConfig' is not "
            "supported by runtimed deploy");
  auto event = load_sam_template(input(R"(Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: i.h
      InlineCode: x
      Events:
        Up:
          Type: S3
)"));
  ASSERT_FALSE(event);
  EXPECT_EQ(event.error().substr(0, 51), "template.yaml line 10: event type S3 is not support");
  auto intrinsic = load_sam_template(input(R"(Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: i.h
      InlineCode: !If [c, a, b]
)"));
  ASSERT_FALSE(intrinsic);
  EXPECT_EQ(intrinsic.error().substr(0, 58),
            "template.yaml line 7: the intrinsic function !If is not su");
  auto bad_ref = load_sam_template(input(R"(Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: i.h
      InlineCode: !Ref Nowhere
)"));
  ASSERT_FALSE(bad_ref);
  EXPECT_EQ(bad_ref.error().substr(0, 60),
            "template.yaml line 7: Ref to Nowhere: no such parameter or r");
  auto yaml = load_sam_template(input("Resources:\n  Fn: [unclosed\n"));
  ASSERT_FALSE(yaml);
  EXPECT_EQ(yaml.error().substr(0, 20), "template.yaml line 3");
}

TEST(SamTemplateTest, FunctionSettingsAndEventsBecomeTheirResources) {
  auto s = load_sam_template(input(R"(Resources:
  Jobs:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 60
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      CorsConfiguration: {AllowOrigins: ["*"]}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs20.x
      Handler: index.handler
      InlineCode: "exports.handler = async () => 1"
      AutoPublishAlias: live
      ProvisionedConcurrencyConfig: {ProvisionedConcurrentExecutions: 1}
      ReservedConcurrentExecutions: 5
      DeadLetterQueue: {Type: SQS, TargetArn: !GetAtt Jobs.Arn}
      EventInvokeConfig:
        MaximumRetryAttempts: 1
        DestinationConfig:
          OnFailure: {Type: SQS, Destination: !GetAtt Jobs.Arn}
      FunctionUrlConfig: {AuthType: NONE}
      Events:
        Get:
          Type: HttpApi
          Properties: {Path: "/items/{id}", Method: get, ApiId: !Ref Api}
        Root:
          Type: HttpApi
        Legacy:
          Type: Api
          Properties: {Path: /old, Method: any}
        Tick:
          Type: Schedule
          Properties: {Schedule: rate(5 minutes), Input: '{"a":1}'}
        Work:
          Type: SQS
          Properties: {Queue: !GetAtt Jobs.Arn, BatchSize: 5}
)"));
  ASSERT_TRUE(s) << s.error();
  std::vector<std::string> keys;
  for (const auto& r : s->resources) keys.push_back(std::string(kind_name(r.kind)) + ":" + r.key);
  EXPECT_EQ(keys, (std::vector<std::string>{
                      "Queue:Jobs", "Function:Fn", "ReservedConcurrency:Fn.ReservedConcurrency",
                      "EventInvokeConfig:Fn.EventInvokeConfig", "Alias:Fn.Alias",
                      "ProvisionedConcurrency:Fn.ProvisionedConcurrency", "FunctionUrl:FnUrl",
                      "HttpApi:Api", "HttpApi:ServerlessHttpApi", "HttpApi:ServerlessRestApi",
                      "Schedule:Fn.Events.Tick", "EventSourceMapping:Fn.Events.Work"}));
  const std::string alias_arn = "arn:aws:lambda:eu-west-1:123456789012:function:st-Fn:live";
  EXPECT_EQ(find(*s, "Fn").spec["DeadLetterConfig"]["TargetArn"],
            "arn:aws:sqs:eu-west-1:123456789012:st-Jobs");
  EXPECT_EQ(find(*s, "Api").spec,
            (json{{"Routes", {{{"RouteKey", "GET /items/{id}"}, {"FunctionArn", alias_arn}}}},
                  {"CorsConfiguration", {{"AllowOrigins", {"*"}}}}}));
  EXPECT_EQ(find(*s, "ServerlessHttpApi").spec["Routes"][0]["RouteKey"], "$default");
  EXPECT_EQ(find(*s, "ServerlessRestApi").spec["Routes"][0]["RouteKey"], "ANY /old");
  EXPECT_EQ(find(*s, "Fn.Events.Tick").spec,
            (json{{"ScheduleExpression", "rate(5 minutes)"},
                  {"ScheduleExpressionTimezone", "UTC"},
                  {"Target", {{"Arn", alias_arn}, {"Input", "{\"a\":1}"}}},
                  {"State", "ENABLED"}}));
  EXPECT_EQ(find(*s, "Fn.Events.Work").spec,
            (json{{"FunctionName", "st-Fn:live"},
                  {"EventSourceArn", "arn:aws:sqs:eu-west-1:123456789012:st-Jobs"},
                  {"BatchSize", 5},
                  {"Enabled", true}}));
  EXPECT_EQ(find(*s, "FnUrl").physical, "live");
  EXPECT_EQ(
      find(*s, "Fn.EventInvokeConfig").spec,
      (json{{"MaximumRetryAttempts", 1},
            {"DestinationConfig",
             {{"OnFailure", {{"Destination", "arn:aws:sqs:eu-west-1:123456789012:st-Jobs"}}}}}}));
}

// An HttpApi event's TimeoutInMillis becomes its route's integration timeout, within API
// Gateway's 50 ms to 30 s.
TEST(SamTemplateTest, AnHttpApiEventsTimeoutInMillisReachesItsRouteWithinApiGatewaysLimits) {
  auto with_timeout = [](const std::string& timeout) {
    return load_sam_template(input(R"(Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: i.h
      InlineCode: x
      Events:
        Get:
          Type: HttpApi
          Properties:
            Path: /slow
            Method: get
            TimeoutInMillis: )" + timeout +
                                   "\n"));
  };
  auto s = with_timeout("5000");
  ASSERT_TRUE(s) << s.error();
  EXPECT_EQ(find(*s, "ServerlessHttpApi").spec["Routes"][0],
            (json{{"RouteKey", "GET /slow"},
                  {"FunctionArn", "arn:aws:lambda:eu-west-1:123456789012:function:st-Fn"},
                  {"TimeoutInMillis", 5000}}));
  for (const std::string bad : {"49", "30001"}) {
    auto refused = with_timeout(bad);
    ASSERT_FALSE(refused) << bad;
    EXPECT_EQ(refused.error(),
              "template.yaml line 14: TimeoutInMillis must be from 50 to 30000 (API Gateway's "
              "limits)");
  }
}

TEST(SamTemplateTest, AutoPublishAliasFromGlobalsAndParametersTargetsTheAlias) {
  auto s = load_sam_template(input(R"(Parameters:
  AliasName: {Type: String, Default: prod}
Globals:
  Function:
    AutoPublishAlias: !Ref AliasName
Resources:
  Q:
    Type: AWS::SQS::Queue
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      InlineCode: x
      Environment:
        Variables:
          SELF: !Ref Fn.Alias
          SUB: !Sub "${Fn.Alias}"
      Events:
        Work: {Type: SQS, Properties: {Queue: !GetAtt Q.Arn}}
)"));
  ASSERT_TRUE(s) << s.error();
  const std::string arn = "arn:aws:lambda:eu-west-1:123456789012:function:st-Fn:prod";
  EXPECT_EQ(find(*s, "Fn").spec["Environment"]["Variables"]["SELF"], arn);
  EXPECT_EQ(find(*s, "Fn").spec["Environment"]["Variables"]["SUB"], arn);
  EXPECT_EQ(find(*s, "Fn.Alias").physical, "prod");
  EXPECT_EQ(find(*s, "Fn.Events.Work").spec["FunctionName"], "st-Fn:prod");
}

TEST(SamTemplateTest, HashesChangeWithWhatTheyFollow) {
  constexpr const char* kTemplate = R"(Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      InlineCode: "CODE"
      MemorySize: MEM
      AutoPublishAlias: live
      Tags: {t: TAG}
)";
  auto make = [&](std::string code, std::string mem, std::string tag) {
    std::string t = kTemplate;
    t.replace(t.find("CODE"), 4, code);
    t.replace(t.find("MEM"), 3, mem);
    t.replace(t.find("TAG"), 3, tag);
    auto s = load_sam_template(input(t));
    if (!s) throw std::runtime_error(s.error());
    return *s;
  };
  const auto base = make("a", "128", "x");
  EXPECT_EQ(make("a", "128", "x").resources[0].hashes, base.resources[0].hashes);
  const auto code = make("b", "128", "x");
  EXPECT_NE(code.resources[0].hashes.at("code"), base.resources[0].hashes.at("code"));
  EXPECT_EQ(code.resources[0].hashes.at("configuration"),
            base.resources[0].hashes.at("configuration"));
  EXPECT_NE(code.resources[1].hashes, base.resources[1].hashes);  // a new version for the alias
  const auto tag = make("a", "128", "y");
  EXPECT_NE(tag.resources[0].hashes.at("tags"), base.resources[0].hashes.at("tags"));
  EXPECT_EQ(tag.resources[1].hashes, base.resources[1].hashes);  // tags publish no version
}

}  // namespace
