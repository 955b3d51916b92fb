// Accounts kept apart on one daemon (serve --credentials with keys of several accounts), over
// HTTPS with a CA made by the test: the AWS CLI and boto3 (tests/integration/clients/
// boto3_accounts.py) with each account's keys; names, ARNs, layers, queues and destinations stay
// within their account, another account's function is 404, an account's memory share is capped
// (429), and only an admin key reads metrics.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "tests/integration/daemon_test.hpp"
#include "tests/tls_test_support.hpp"

namespace {

using nlohmann::json;
using testsupport::DaemonProcess;

constexpr const char* kAws = "/usr/bin/aws";

class DaemonAccountsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = testsupport::make_test_pki(dir_.path() / "pki");
    {
      std::ofstream out(credentials_path());
      out << "[AKIAALICE]\nsecret_access_key = alice-secret\naccount_id = 111111111111\n"
             "max_memory_mb = 256\n\n"
             "[AKIABOB]\nsecret_access_key = bob-secret\naccount_id = 222222222222\n\n"
             "[AKIAADMIN]\nsecret_access_key = admin-secret\naccount_id = 000000000000\n"
             "admin = true\n";
    }
    ::chmod(credentials_path().c_str(), 0600);
    daemon_ = std::make_unique<DaemonProcess>(
        std::vector<std::string>{"--credentials", credentials_path(), "--tls-cert",
                                 pki_.server_cert.string(), "--tls-key", pki_.server_key.string()});
    daemon_->trust(pki_.ca_cert);
    std::ofstream(dir_.path() / "fn.zip", std::ios::binary) << testsupport::function_zip();
  }
  void TearDown() override {
    if (daemon_) testsupport::expect_clean_stop(*daemon_);
  }
  std::string credentials_path() const { return (dir_.path() / "credentials").string(); }
  std::string endpoint() const { return "https://127.0.0.1:" + std::to_string(daemon_->port()); }
  testsupport::CommandRun aws(const std::string& key, const std::string& secret,
                              std::vector<std::string> args) {
    args.insert(args.begin(), {kAws, "lambda"});
    args.insert(args.end(), {"--endpoint-url", endpoint(), "--ca-bundle", pki_.ca_cert.string(),
                             "--output", "json"});
    return testsupport::run_command(args, testsupport::aws_client_env(dir_.path(), key, secret));
  }

  testsupport::TempDir dir_{"rt-accounts"};
  testsupport::TestPki pki_;
  std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(DaemonAccountsTest, TheAwsCliSeesOnlyItsOwnAccountsFunctions) {
  const std::string zip = "fileb://" + (dir_.path() / "fn.zip").string();
  auto create = [&](const std::string& key, const std::string& secret) {
    return aws(key, secret,
               {"create-function", "--function-name", "fn", "--runtime", "provided.al2023",
                "--handler", "x", "--role", "arn:aws:iam::000000000000:role/x", "--zip-file", zip});
  };
  auto by_alice = create("AKIAALICE", "alice-secret");
  ASSERT_EQ(by_alice.status, 0) << by_alice;
  EXPECT_EQ(json::parse(by_alice.out)["FunctionArn"],
            "arn:aws:lambda:us-east-1:111111111111:function:fn");
  auto by_bob = create("AKIABOB", "bob-secret");
  ASSERT_EQ(by_bob.status, 0) << by_bob;
  EXPECT_EQ(json::parse(by_bob.out)["FunctionArn"],
            "arn:aws:lambda:us-east-1:222222222222:function:fn");

  auto listed = aws("AKIABOB", "bob-secret", {"list-functions"});
  ASSERT_EQ(listed.status, 0) << listed;
  const json functions = json::parse(listed.out)["Functions"];
  ASSERT_EQ(functions.size(), 1u) << listed.out;
  EXPECT_EQ(functions[0]["FunctionArn"], "arn:aws:lambda:us-east-1:222222222222:function:fn");

  // Alice's function by its ARN is not there for bob: 404, as across accounts on Lambda.
  auto cross =
      aws("AKIABOB", "bob-secret",
          {"invoke", "--function-name", "arn:aws:lambda:us-east-1:111111111111:function:fn",
           (dir_.path() / "out.json").string()});
  EXPECT_EQ(cross.status, 254) << cross;
  EXPECT_NE(cross.err.find("ResourceNotFoundException"), std::string::npos) << cross;

  // Each invokes its own; the runtime is told its own ARN.
  auto invoked = aws("AKIAALICE", "alice-secret",
                     {"invoke", "--function-name", "fn", "--cli-binary-format", "raw-in-base64-out",
                      "--payload", R"({"action":"env"})", (dir_.path() / "env.json").string()});
  ASSERT_EQ(invoked.status, 0) << invoked;
  std::ifstream in(dir_.path() / "env.json");
  const json env = json::parse(in);
  EXPECT_EQ(env["AWS_LAMBDA_FUNCTION_NAME"], "fn");
  EXPECT_EQ(env["function_arn"], "arn:aws:lambda:us-east-1:111111111111:function:fn");
  // Deleting bob's leaves alice's.
  ASSERT_EQ(aws("AKIABOB", "bob-secret", {"delete-function", "--function-name", "fn"}).status, 0);
  EXPECT_EQ(aws("AKIAALICE", "alice-secret", {"get-function", "--function-name", "fn"}).status, 0);
}

TEST_F(DaemonAccountsTest, Boto3AccountsAreApartCappedAndOnlyAdminsReadMetrics) {
  const auto run = testsupport::run_client_script("boto3_accounts.py",
                                                  {endpoint(), pki_.ca_cert.string()}, dir_.path());
  EXPECT_EQ(run.status, 0) << run << daemon_->daemon_log();
  EXPECT_NE(run.out.find("ok\n"), std::string::npos) << run;
}

}  // namespace
