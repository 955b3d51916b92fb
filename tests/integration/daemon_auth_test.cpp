// SigV4 authentication (serve --credentials) with real signatures: the AWS CLI and boto3 with two
// keys' secrets, and raw requests signed by the test with a shifted clock, a tampered body, a wrong
// secret, an unknown key or no signature at all — each answered as AWS answers it.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <thread>

#include "api/sigv4.hpp"
#include "tests/integration/daemon_test.hpp"

namespace {

using nlohmann::json;
using testsupport::DaemonProcess;
using testsupport::TempDir;
namespace fs = std::filesystem;

constexpr const char* kAws = "/usr/bin/aws";
constexpr const char* kAccount = "000000000000";

class DaemonAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    write_credentials({{"AKIAALICE", "alice-secret"}, {"AKIABOB", "bob-secret"}});
    daemon_ = std::make_unique<DaemonProcess>(std::vector<std::string>{
        "--credentials", credentials_path(), "--http-listen", "127.0.0.1:0"});
    std::ofstream(dir_.path() / "fn.zip", std::ios::binary) << testsupport::function_zip();
  }
  void TearDown() override {
    if (daemon_) testsupport::expect_clean_stop(*daemon_);
  }
  std::string credentials_path() const { return (dir_.path() / "credentials").string(); }
  void write_credentials(const std::vector<std::pair<std::string, std::string>>& keys,
                         const std::string& account = kAccount, mode_t mode = 0600) {
    {
      std::ofstream out(credentials_path());
      for (const auto& [id, secret] : keys)
        out << "[" << id << "]\nsecret_access_key = " << secret << "\naccount_id = " << account
            << "   ; the daemon's account\n\n";
    }
    ::chmod(credentials_path().c_str(), mode);
  }
  testsupport::CommandRun aws(const std::string& key, const std::string& secret,
                              std::vector<std::string> args) {
    args.insert(args.begin(), {kAws, "lambda"});
    args.insert(args.end(),
                {"--endpoint-url", "http://127.0.0.1:" + std::to_string(daemon_->port()),
                 "--output", "json"});
    return testsupport::run_command(args, testsupport::aws_client_env(dir_.path(), key, secret));
  }
  // A raw request, signed by the test's signer at `when` (or not at all), then `tamper`ed.
  httplib::Result raw(const std::string& method, const std::string& path, const std::string& body,
                      const std::string& key, const std::string& secret,
                      std::chrono::system_clock::time_point when,
                      const std::function<void(api::HttpRequest&)>& tamper = {}) {
    api::HttpRequest r;
    r.method = method;
    r.raw_path = path;
    r.path = path;
    r.body = body;
    r.headers.emplace("Host", "127.0.0.1:" + std::to_string(daemon_->port()));
    if (method != "GET") r.headers.emplace("Content-Type", "application/json");
    if (!key.empty()) api::sign_sigv4(r, key, secret, "us-east-1", "lambda", when);
    if (tamper) tamper(r);
    httplib::Headers headers;
    for (const auto& [k, v] : r.headers)
      if (k != "Host" && k != "Content-Type") headers.emplace(k, v);
    auto c = daemon_->client();
    return method == "GET" ? c.Get(path, headers)
                           : c.Post(path, headers, r.body, "application/json");
  }
  static void expect_denied(const httplib::Result& r, int status, const std::string& type,
                            const std::string& message_part) {
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, status) << r->body;
    EXPECT_EQ(r->get_header_value("x-amzn-ErrorType"), type) << r->body;
    EXPECT_NE(r->body.find(message_part), std::string::npos) << r->body;
  }

  TempDir dir_{"rt-auth"};
  std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(DaemonAuthTest, TheAwsCliSignsWithEitherKeyAndAWrongSecretOrKeyIsRefused) {
  auto created = aws("AKIAALICE", "alice-secret",
                     {"create-function", "--function-name", "fn", "--runtime", "provided.al2023",
                      "--handler", "x", "--role", "arn:aws:iam::000000000000:role/x", "--zip-file",
                      "fileb://" + (dir_.path() / "fn.zip").string()});
  ASSERT_EQ(created.status, 0) << created;
  auto invoked = aws("AKIABOB", "bob-secret",
                     {"invoke", "--function-name", "fn", "--cli-binary-format", "raw-in-base64-out",
                      "--payload", R"({"x":1})", (dir_.path() / "out.json").string()});
  EXPECT_EQ(invoked.status, 0) << invoked;

  auto wrong = aws("AKIABOB", "not-bobs-secret", {"list-functions"});
  EXPECT_NE(wrong.status, 0);
  EXPECT_NE(wrong.err.find("InvalidSignatureException"), std::string::npos) << wrong;
  EXPECT_NE(wrong.err.find("The request signature we calculated does not match"), std::string::npos)
      << wrong;
  auto unknown = aws("AKIAMALLORY", "whatever", {"list-functions"});
  EXPECT_NE(unknown.status, 0);
  EXPECT_NE(unknown.err.find("UnrecognizedClientException"), std::string::npos) << unknown;

  // boto3 (Debian's) signs the same way.
  auto boto = testsupport::run_command(
      {"/usr/bin/python3", "-c",
       "import boto3,sys\n"
       "c=boto3.client('lambda',endpoint_url=sys.argv[1],region_name='us-east-1',"
       "aws_access_key_id='AKIAALICE',aws_secret_access_key='alice-secret')\n"
       "print(c.get_function(FunctionName='fn')['Configuration']['FunctionName'])\n",
       "http://127.0.0.1:" + std::to_string(daemon_->port())});
  EXPECT_EQ(boto.status, 0) << boto;
  EXPECT_EQ(boto.out, "fn\n");
}

TEST_F(DaemonAuthTest, EachBadSignatureGetsItsOwn403) {
  const auto now = std::chrono::system_clock::now();
  const std::string list = "/2015-03-31/functions/";
  auto ok = raw("GET", list, "", "AKIAALICE", "alice-secret", now);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;

  expect_denied(raw("GET", list, "", "", "", now), 403, "MissingAuthenticationTokenException",
                "Missing Authentication Token");
  expect_denied(daemon_->client().Get("/runtimed/v1/health"), 403,
                "MissingAuthenticationTokenException", "Missing Authentication Token");
  expect_denied(raw("GET", list, "", "AKIAALICE", "alice-secret", now - std::chrono::minutes(10)),
                403, "InvalidSignatureException", "Signature expired");
  expect_denied(raw("GET", list, "", "AKIAALICE", "bob-secret", now), 403,
                "InvalidSignatureException", "does not match");
  expect_denied(raw("GET", list, "", "AKIAEVE", "eve", now), 403, "UnrecognizedClientException",
                "The security token included in the request is invalid.");
  expect_denied(raw("POST", "/2015-03-31/functions/fn/invocations", R"({"pay":1})", "AKIAALICE",
                    "alice-secret", now, [](api::HttpRequest& r) { r.body = R"({"pay":1000})"; }),
                403, "InvalidSignatureException", "does not match");
}

// A Function URL with AuthType AWS_IAM takes requests signed (service lambda) by a known key, as
// botocore's own signer makes them, and refuses unsigned or wrongly signed ones before the
// function.
TEST_F(DaemonAuthTest, AnAwsIamFunctionUrlTakesOnlySignedRequests) {
  const std::string zip = "fileb://" + (dir_.path() / "fn.zip").string();
  ASSERT_EQ(aws("AKIAALICE", "alice-secret",
                {"create-function", "--function-name", "fn", "--runtime", "provided.al2023",
                 "--handler", "x", "--role", "arn:aws:iam::000000000000:role/x", "--zip-file", zip})
                .status,
            0);
  auto made =
      aws("AKIAALICE", "alice-secret",
          {"create-function-url-config", "--function-name", "fn", "--auth-type", "AWS_IAM"});
  ASSERT_EQ(made.status, 0) << made;
  const std::string url = json::parse(made.out)["FunctionUrl"].get<std::string>() + "hello?q=1";
  auto fetch = [&](const std::string& key, const std::string& secret) {
    return testsupport::run_command(
        {"/usr/bin/python3", "-c",
         "import sys, urllib.request, urllib.error\n"
         "from botocore.auth import SigV4Auth\n"
         "from botocore.awsrequest import AWSRequest\n"
         "from botocore.credentials import Credentials\n"
         "url, key, secret = sys.argv[1:4]\n"
         "req = AWSRequest(method='GET', url=url)\n"
         "if key: SigV4Auth(Credentials(key, secret), 'lambda', 'us-east-1').add_auth(req)\n"
         "try:\n"
         "    r = urllib.request.urlopen(urllib.request.Request(url, headers=dict(req.headers)))\n"
         "    print(r.status)\n"
         "    print(r.read().decode(), file=sys.stderr)\n"
         "except urllib.error.HTTPError as e:\n"
         "    print(e.code)\n",
         url, key, secret});
  };
  auto signed_ok = fetch("AKIABOB", "bob-secret");
  EXPECT_EQ(signed_ok.out, "200\n") << signed_ok << daemon_->daemon_log();
  // The function (an echo) sees the signer as Lambda's event names an AWS_IAM caller.
  const json event = json::parse(signed_ok.err, nullptr, false);
  ASSERT_TRUE(event.is_object()) << signed_ok;
  const json iam = event.value("requestContext", json::object()).value("authorizer", json())["iam"];
  EXPECT_EQ(iam.value("accessKey", ""), "AKIABOB") << event;
  EXPECT_EQ(iam.value("accountId", ""), kAccount) << event;
  EXPECT_EQ(iam.value("userArn", ""), std::string("arn:aws:iam::") + kAccount + ":user/AKIABOB");
  EXPECT_EQ(fetch("", "").out, "403\n");
  EXPECT_EQ(fetch("AKIABOB", "not-bobs-secret").out, "403\n");
  EXPECT_EQ(fetch("AKIAMALLORY", "x").out, "403\n");
}

TEST_F(DaemonAuthTest, SighupReloadsTheKeys) {
  const auto now = std::chrono::system_clock::now();
  const std::string list = "/2015-03-31/functions/";
  expect_denied(raw("GET", list, "", "AKIACAROL", "carol-secret", now), 403,
                "UnrecognizedClientException", "invalid");
  write_credentials({{"AKIAALICE", "alice-secret"}, {"AKIACAROL", "carol-secret"}});
  ::kill(daemon_->pid(), SIGHUP);
  int status = 0;
  for (int i = 0; i < 100 && status != 200; ++i) {
    auto r = raw("GET", list, "", "AKIACAROL", "carol-secret", std::chrono::system_clock::now());
    status = r ? r->status : 0;
    if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(status, 200);
  // Bob's key is gone; a file others may read is refused and the keys in force stay.
  expect_denied(raw("GET", list, "", "AKIABOB", "bob-secret", std::chrono::system_clock::now()),
                403, "UnrecognizedClientException", "invalid");
  write_credentials({{"AKIABOB", "bob-secret"}}, kAccount, 0644);
  ::kill(daemon_->pid(), SIGHUP);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto still = raw("GET", list, "", "AKIACAROL", "carol-secret", std::chrono::system_clock::now());
  ASSERT_TRUE(still);
  EXPECT_EQ(still->status, 200);
  // A malformed account id is refused at reload as at start: the keys in force stay.
  write_credentials({{"AKIAOTHER", "other-secret"}}, "11111");
  ::kill(daemon_->pid(), SIGHUP);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  expect_denied(raw("GET", list, "", "AKIAOTHER", "other-secret", std::chrono::system_clock::now()),
                403, "UnrecognizedClientException", "invalid");
  auto kept = raw("GET", list, "", "AKIACAROL", "carol-secret", std::chrono::system_clock::now());
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->status, 200);
  // A key of another account is taken: it acts in that account (docs/security.md).
  write_credentials({{"AKIAOTHER", "other-secret"}}, "111111111111");
  ::kill(daemon_->pid(), SIGHUP);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto other = raw("GET", list, "", "AKIAOTHER", "other-secret", std::chrono::system_clock::now());
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 200) << other->body;
}

TEST_F(DaemonAuthTest, TheRuntimedCliSignsWithTheAwsEnvironmentKeys) {
  const std::string endpoint = "http://127.0.0.1:" + std::to_string(daemon_->port());
  const std::string bin = testsupport::bin_path("runtimed").string();
  auto signed_list = testsupport::run_command(
      {bin, "list", "--endpoint", endpoint},
      std::vector<std::string>{"AWS_ACCESS_KEY_ID=AKIABOB", "AWS_SECRET_ACCESS_KEY=bob-secret"});
  EXPECT_EQ(signed_list.status, 0) << signed_list;
  auto unsigned_list =
      testsupport::run_command({bin, "list", "--endpoint", endpoint}, std::vector<std::string>{});
  EXPECT_EQ(unsigned_list.status, 2) << unsigned_list;
  EXPECT_NE(unsigned_list.err.find("MissingAuthenticationTokenException"), std::string::npos)
      << unsigned_list;

  // A profile of the shared credentials file, as the AWS CLI reads it.
  const auto shared = dir_.path() / "aws-credentials";
  std::ofstream(shared) << "[default]\naws_access_key_id = AKIAMALLORY\naws_secret_access_key = x\n"
                        << "[alice]\naws_access_key_id = AKIAALICE\n"
                        << "aws_secret_access_key = alice-secret\n";
  const std::vector<std::string> file_env = {"AWS_SHARED_CREDENTIALS_FILE=" + shared.string()};
  auto by_profile = testsupport::run_command(
      {bin, "list", "--endpoint", endpoint, "--profile", "alice"}, file_env);
  EXPECT_EQ(by_profile.status, 0) << by_profile;
  auto by_default = testsupport::run_command({bin, "list", "--endpoint", endpoint}, file_env);
  EXPECT_EQ(by_default.status, 2) << by_default;
  EXPECT_NE(by_default.err.find("UnrecognizedClientException"), std::string::npos) << by_default;
  auto missing = testsupport::run_command(
      {bin, "list", "--endpoint", endpoint, "--profile", "nobody"}, file_env);
  EXPECT_EQ(missing.status, 64) << missing;
  EXPECT_NE(missing.err.find("profile nobody is not in"), std::string::npos) << missing;
}

TEST(DaemonAuthStart, RefusesReadableOrMalformedCredentialsAndUnauthenticatedNonLoopback) {
  TempDir dir("rt-auth-start");
  const auto path = dir.path() / "credentials";
  auto serve = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {testsupport::bin_path("runtimed").string(),
                                     "serve",
                                     "--state-dir",
                                     (dir.path() / "state").string(),
                                     "--network",
                                     "none",
                                     "--cgroup-parent",
                                     "rt-auth-start-" + common::random_hex(4)};
    args.insert(args.end(), extra.begin(), extra.end());
    return testsupport::run_command(args);
  };
  std::ofstream(path) << "[AKIAX]\nsecret_access_key = s\naccount_id = 000000000000\n";
  ::chmod(path.c_str(), 0644);
  auto readable = serve({"--credentials", path.string()});
  EXPECT_EQ(readable.status, 2) << readable;
  EXPECT_NE(readable.err.find("accessible by other users (mode 0644): chmod 600"),
            std::string::npos)
      << readable;
  std::ofstream(path) << "[AKIAX]\nsecret_access_key = s\naccount_id = 11111\n";
  ::chmod(path.c_str(), 0600);
  auto malformed = serve({"--credentials", path.string()});
  EXPECT_EQ(malformed.status, 2) << malformed;
  EXPECT_NE(malformed.err.find("account_id must be 12 digits"), std::string::npos) << malformed;
  auto open = serve({"--listen", "0.0.0.0:" + std::to_string(testsupport::free_port())});
  EXPECT_EQ(open.status, 2) << open;
  EXPECT_NE(open.err.find("give --credentials to serve other addresses"), std::string::npos)
      << open;
}

}  // namespace
