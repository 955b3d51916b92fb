// Clients AWS wrote, unchanged, against the real daemon: the AWS CLI (Debian's awscli,
// /usr/bin/aws) with --endpoint-url — create, the function-active and function-updated waiters,
// invoke (sync with a log tail, a function error, async), configuration, concurrency, account
// settings, list, delete, an API error — and boto3 (Debian's python3-boto3) through
// tests/integration/clients/boto3_lambda.py, including its modeled exceptions and a 429.
#include <gtest/gtest.h>

#include <fstream>

#include "tests/integration/daemon_test.hpp"

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kAws = "/usr/bin/aws";

class DaemonAwsCliTest : public testsupport::DaemonTest {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(kAws)) << kAws << " is missing (scripts/setup.sh installs awscli)";
    start();
    std::ofstream(scratch_.path() / "fn.zip", std::ios::binary) << testsupport::function_zip();
  }
  // `aws lambda ARGS… --endpoint-url …` with dummy credentials and nothing read from $HOME.
  testsupport::CommandRun aws(std::vector<std::string> args) {
    args.insert(args.begin(), {kAws, "lambda"});
    args.insert(args.end(),
                {"--endpoint-url", "http://127.0.0.1:" + std::to_string(daemon_->port()),
                 "--output", "json"});
    return testsupport::run_command(args,
                                    testsupport::aws_client_env(scratch_.path(), "test", "test"));
  }
  json aws_json(std::vector<std::string> args) {
    auto run = aws(std::move(args));
    EXPECT_EQ(run.status, 0) << run;
    return run.status == 0 ? json::parse(run.out, nullptr, false) : json();
  }
  std::string path(const std::string& name) const { return (scratch_.path() / name).string(); }
  testsupport::TempDir scratch_{"rt-awscli"};
};

TEST_F(DaemonAwsCliTest, ManagesAndInvokesAFunctionEndToEnd) {
  auto created =
      aws_json({"create-function", "--function-name", "cli-fn", "--runtime", "provided.al2023",
                "--handler", "unused", "--role", "arn:aws:iam::000000000000:role/test",
                "--zip-file", "fileb://" + path("fn.zip")});
  EXPECT_EQ(created["FunctionName"], "cli-fn");
  EXPECT_EQ(created["FunctionArn"], "arn:aws:lambda:us-east-1:000000000000:function:cli-fn");
  auto waited = aws({"wait", "function-active-v2", "--function-name", "cli-fn"});
  EXPECT_EQ(waited.status, 0) << waited;

  // Synchronous, with the log tail: the C test runtime echoes its event.
  auto invoked =
      aws_json({"invoke", "--function-name", "cli-fn", "--cli-binary-format", "raw-in-base64-out",
                "--payload", R"({"hello":"cli"})", "--log-type", "Tail", path("out.json")});
  EXPECT_EQ(invoked["StatusCode"], 200);
  EXPECT_EQ(invoked["ExecutedVersion"], "$LATEST");
  EXPECT_FALSE(invoked.contains("FunctionError"));
  const std::string tail =
      common::base64_decode(invoked.value("LogResult", std::string())).value_or("");
  EXPECT_NE(tail.find("REPORT RequestId: "), std::string::npos) << tail;
  std::ifstream out(path("out.json"));
  EXPECT_EQ(json::parse(out), json::parse(R"({"hello":"cli"})"));

  // A function error is a successful call that says so.
  auto failed =
      aws_json({"invoke", "--function-name", "cli-fn", "--cli-binary-format", "raw-in-base64-out",
                "--payload", R"({"action":"error"})", path("err.json")});
  EXPECT_EQ(failed["StatusCode"], 200);
  EXPECT_EQ(failed["FunctionError"], "Unhandled");

  auto queued =
      aws_json({"invoke", "--function-name", "cli-fn", "--invocation-type", "Event",
                "--cli-binary-format", "raw-in-base64-out", "--payload", "{}", path("event.json")});
  EXPECT_EQ(queued["StatusCode"], 202);

  auto updated = aws_json({"update-function-configuration", "--function-name", "cli-fn",
                           "--memory-size", "256", "--timeout", "5"});
  EXPECT_EQ(updated["MemorySize"], 256);
  EXPECT_EQ(updated["Timeout"], 5);
  auto updated_wait = aws({"wait", "function-updated-v2", "--function-name", "cli-fn"});
  EXPECT_EQ(updated_wait.status, 0) << updated_wait;

  auto reserved = aws_json({"put-function-concurrency", "--function-name", "cli-fn",
                            "--reserved-concurrent-executions", "5"});
  EXPECT_EQ(reserved["ReservedConcurrentExecutions"], 5);
  auto account = aws_json({"get-account-settings"});
  EXPECT_TRUE(account["AccountLimit"].contains("ConcurrentExecutions")) << account.dump();

  auto listed = aws_json({"list-functions"});
  ASSERT_EQ(listed["Functions"].size(), 1u) << listed.dump();
  EXPECT_EQ(listed["Functions"][0]["FunctionName"], "cli-fn");

  auto deleted = aws({"delete-function", "--function-name", "cli-fn"});
  EXPECT_EQ(deleted.status, 0) << deleted;
  // An API error as the CLI reports it: its own exit status and Lambda's error code and message.
  auto missing = aws({"get-function", "--function-name", "cli-fn"});
  EXPECT_NE(missing.status, 0);
  EXPECT_NE(missing.err.find("ResourceNotFoundException"), std::string::npos) << missing;
  EXPECT_NE(missing.err.find("Function not found"), std::string::npos) << missing;
}

// Tags as the CLI sends them: on create, tag-resource, list-tags, untag-resource; a function's
// RevisionId stays; VpcConfig with subnets is refused in words that say what runtimed offers.
TEST_F(DaemonAwsCliTest, TagsAFunctionAndRefusesVpcConfig) {
  const std::string arn = "arn:aws:lambda:us-east-1:000000000000:function:tagged";
  auto created = aws_json(
      {"create-function", "--function-name", "tagged", "--runtime", "provided.al2023", "--handler",
       "unused", "--role", "arn:aws:iam::000000000000:role/test", "--zip-file",
       "fileb://" + path("fn.zip"), "--tags", "team=data,runtimed:network=none"});
  const std::string revision = created.value("RevisionId", "");
  auto listed = aws_json({"list-tags", "--resource", arn});
  EXPECT_EQ(listed["Tags"], json::parse(R"({"team":"data","runtimed:network":"none"})"))
      << listed.dump();

  auto tagged = aws({"tag-resource", "--resource", arn, "--tags", "owner=ops,team=infra"});
  EXPECT_EQ(tagged.status, 0) << tagged;
  auto untagged = aws({"untag-resource", "--resource", arn, "--tag-keys", "runtimed:network"});
  EXPECT_EQ(untagged.status, 0) << untagged;
  auto got = aws_json({"get-function", "--function-name", "tagged"});
  EXPECT_EQ(got["Tags"], json::parse(R"({"team":"infra","owner":"ops"})")) << got.dump();
  EXPECT_EQ(got["Configuration"]["RevisionId"], revision);

  auto reserved = aws({"tag-resource", "--resource", arn, "--tags", "aws:owner=x"});
  EXPECT_NE(reserved.status, 0);
  EXPECT_NE(reserved.err.find("InvalidParameterValueException"), std::string::npos) << reserved;
  auto missing =
      aws({"list-tags", "--resource", "arn:aws:lambda:us-east-1:000000000000:function:nobody"});
  EXPECT_NE(missing.status, 0);
  EXPECT_NE(missing.err.find("ResourceNotFoundException"), std::string::npos) << missing;

  auto vpc = aws({"update-function-configuration", "--function-name", "tagged", "--vpc-config",
                  "SubnetIds=subnet-1,SecurityGroupIds=sg-1"});
  EXPECT_NE(vpc.status, 0);
  EXPECT_NE(vpc.err.find("VpcConfig is not supported by runtimed"), std::string::npos) << vpc;
  auto detach = aws({"update-function-configuration", "--function-name", "tagged", "--vpc-config",
                     "SubnetIds=[],SecurityGroupIds=[]"});
  EXPECT_EQ(detach.status, 0) << detach;
}

}  // namespace

namespace {

TEST_F(DaemonAwsCliTest, Boto3SeesLambdasShapesAndErrors) {
  const auto run = testsupport::run_client_script(
      "boto3_lambda.py", {"http://127.0.0.1:" + std::to_string(daemon_->port()), path("fn.zip")},
      scratch_.path());
  ASSERT_EQ(run.err.find("No module named 'boto3'"), std::string::npos)
      << "python3-boto3 is missing (scripts/setup.sh installs it)";
  EXPECT_EQ(run.status, 0) << run;
  EXPECT_EQ(run.out, "OK\n") << run;
}

TEST_F(DaemonAwsCliTest, Boto3PublishesVersionsRoutesAnAliasAndInvokesQualifiedNames) {
  const auto run = testsupport::run_client_script(
      "boto3_versions.py", {"http://127.0.0.1:" + std::to_string(daemon_->port()), path("fn.zip")},
      scratch_.path());
  EXPECT_EQ(run.status, 0) << run;
  EXPECT_NE(run.out.find("ok\n"), std::string::npos) << run;
}

TEST_F(DaemonAwsCliTest, Boto3ProvisionsConcurrencyThatAnAliasFirstInvocationFindsInitialized) {
  const auto run = testsupport::run_client_script(
      "boto3_provisioned.py", {"http://127.0.0.1:" + std::to_string(daemon_->port())},
      scratch_.path());
  EXPECT_EQ(run.status, 0) << run << daemon_->daemon_log();
  EXPECT_NE(run.out.find("ok\n"), std::string::npos) << run;
}

TEST_F(DaemonAwsCliTest, Boto3KeepsEventInvokeConfigsPerQualifier) {
  const auto run = testsupport::run_client_script(
      "boto3_event_configs.py", {"http://127.0.0.1:" + std::to_string(daemon_->port())},
      scratch_.path());
  EXPECT_EQ(run.status, 0) << run << daemon_->daemon_log();
  EXPECT_NE(run.out.find("ok\n"), std::string::npos) << run;
}

// The CLI's own commands for versions and aliases; the log tail's START line names the version.
TEST_F(DaemonAwsCliTest, PublishesAVersionAliasesItAndInvokesIt) {
  aws_json({"create-function", "--function-name", "cli-ver", "--runtime", "provided.al2023",
            "--handler", "unused", "--role", "arn:aws:iam::000000000000:role/test", "--zip-file",
            "fileb://" + path("fn.zip")});
  auto published = aws_json({"publish-version", "--function-name", "cli-ver"});
  EXPECT_EQ(published["Version"], "1");
  EXPECT_EQ(published["FunctionArn"], "arn:aws:lambda:us-east-1:000000000000:function:cli-ver:1");
  auto alias = aws_json({"create-alias", "--function-name", "cli-ver", "--name", "prod",
                         "--function-version", "1", "--description", "production"});
  EXPECT_EQ(alias["AliasArn"], "arn:aws:lambda:us-east-1:000000000000:function:cli-ver:prod");
  EXPECT_EQ(aws_json({"get-alias", "--function-name", "cli-ver", "--name", "prod"})["Description"],
            "production");
  auto invoked = aws_json({"invoke", "--function-name", "cli-ver", "--qualifier", "prod",
                           "--cli-binary-format", "raw-in-base64-out", "--payload", R"({"v":1})",
                           "--log-type", "Tail", path("out.json")});
  EXPECT_EQ(invoked["ExecutedVersion"], "1");
  const std::string tail =
      common::base64_decode(invoked.value("LogResult", std::string())).value_or("");
  EXPECT_NE(tail.find(" Version: 1\n"), std::string::npos) << tail;
  auto listed = aws_json({"list-versions-by-function", "--function-name", "cli-ver"});
  ASSERT_EQ(listed["Versions"].size(), 2u) << listed.dump();
  auto aliases = aws_json({"list-aliases", "--function-name", "cli-ver"});
  ASSERT_EQ(aliases["Aliases"].size(), 1u) << aliases.dump();
  // A version an alias routes to cannot go; once the alias is gone, it can.
  auto refused = aws({"delete-function", "--function-name", "cli-ver", "--qualifier", "1"});
  EXPECT_NE(refused.status, 0);
  EXPECT_NE(refused.err.find("ResourceConflictException"), std::string::npos) << refused;
  EXPECT_EQ(aws({"delete-alias", "--function-name", "cli-ver", "--name", "prod"}).status, 0);
  EXPECT_EQ(aws({"delete-function", "--function-name", "cli-ver", "--qualifier", "1"}).status, 0);
  auto gone = aws({"invoke", "--function-name", "cli-ver:1", path("gone.json")});
  EXPECT_NE(gone.status, 0);
  EXPECT_NE(gone.err.find("Function not found: arn:aws:lambda:us-east-1:000000000000:function:"
                          "cli-ver:1"),
            std::string::npos)
      << gone;
}

TEST_F(DaemonAwsCliTest, Boto3PublishesLayersThatPythonNodeAndACustomRuntimeUse) {
  const auto run = testsupport::run_client_script(
      "boto3_layers.py", {"http://127.0.0.1:" + std::to_string(daemon_->port()), path("fn.zip")},
      scratch_.path());
  EXPECT_EQ(run.status, 0) << run;
  EXPECT_NE(run.out.find("ok\n"), std::string::npos) << run;
}

}  // namespace
