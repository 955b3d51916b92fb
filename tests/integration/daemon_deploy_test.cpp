// `runtimed deploy` end to end: a real daemon, the runtimed CLI binary, a SAM template on disk;
// deploy, invoke, change one thing, re-deploy, re-deploy unchanged, delete with nothing left.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/daemon_process.hpp"
#include "tests/integration/daemon_test.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A python function from a code directory using a layer, an inline one with AutoPublishAlias,
// per-function settings, parameters and outputs: what the daemon on main serves today.
constexpr const char* kTemplate = R"(AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  Greeting:
    Type: String
    Default: Hello
  Reserved:
    Type: Number
    Default: 2
Globals:
  Function:
    Runtime: python3.12
    Timeout: 5
    Environment:
      Variables:
        STAGE: test
Resources:
  Shared:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: layer
  Api:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src
      Handler: app.handler
      Layers: [!Ref Shared]
      MemorySize: 256
      Environment:
        Variables:
          GREETING: !Sub "${Greeting} from ${AWS::StackName}"
      ReservedConcurrentExecutions: !Ref Reserved
      Tags:
        team: web
  Inline:
    Type: AWS::Serverless::Function
    Properties:
      Handler: index.handler
      InlineCode: |
        def handler(event, context):
            return {"inline": True, "version": context.function_version}
      AutoPublishAlias: live
      DeadLetterQueue:
        Type: SQS
        TargetArn: !Sub "arn:aws:sqs:${AWS::Region}:${AWS::AccountId}:${AWS::StackName}-dlq"
      EventInvokeConfig:
        MaximumRetryAttempts: 0
        MaximumEventAgeInSeconds: 120
Outputs:
  ApiArn:
    Value: !GetAtt Api.Arn
  LayerArn:
    Value: !Ref Shared
)";

class DeployTest : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<testsupport::DaemonProcess>(
        std::vector<std::string>{"--http-listen", "127.0.0.1:0"});
    endpoint_ = "http://127.0.0.1:" + std::to_string(daemon_->port());
    fs::create_directories(dir() / "layer/python");
    fs::create_directories(dir() / "src");
    write("layer/python/greeting.py", "def shout(text):\n    return text.upper()\n");
    write("src/app.py",
          "import os, greeting\n"
          "def handler(event, context):\n"
          "    return {'message': greeting.shout(os.environ['GREETING']),\n"
          "            'stage': os.environ['STAGE']}\n");
    write("template.yaml", kTemplate);
  }

  const fs::path& dir() const { return scratch_.path(); }
  void write(const std::string& relative, const std::string& text) {
    std::ofstream(dir() / relative) << text;
  }

  testsupport::CommandRun cli(std::vector<std::string> args) {
    args.insert(args.begin(), testsupport::bin_path("runtimed").string());
    args.push_back("--endpoint");
    args.push_back(endpoint_);
    return testsupport::run_command(args);
  }
  testsupport::CommandRun deploy(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"deploy", (dir() / "template.yaml").string(), "--stack-name",
                                     "demo"};
    args.insert(args.end(), extra.begin(), extra.end());
    return cli(args);
  }
  json get(const std::string& path, int expected_status = 200) {
    auto r = daemon_->client().Get(path);
    EXPECT_TRUE(r);
    if (!r) return {};
    EXPECT_EQ(r->status, expected_status) << path << ": " << r->body;
    return r->body.empty() ? json{} : json::parse(r->body, nullptr, false);
  }

  testsupport::TempDir scratch_{"rt-deploy"};
  // A restarted daemon's first run, which owns the state dir: destroyed after daemon_.
  std::unique_ptr<testsupport::DaemonProcess> first_run_;
  std::unique_ptr<testsupport::DaemonProcess> daemon_;
  std::string endpoint_;
};

// Lines of `out` that start with `prefix`.
std::vector<std::string> lines_starting(const std::string& out, const std::string& prefix) {
  std::vector<std::string> found;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) == 0) found.push_back(line);
  }
  return found;
}

TEST_F(DeployTest, DeployInvokeChangeRedeployAndDeleteLeavesNothing) {
  auto first = deploy();
  ASSERT_EQ(first.status, 0) << first;
  EXPECT_EQ(lines_starting(first.out, "create "),
            (std::vector<std::string>{
                "create Layer Shared (demo-Shared)", "create Function Api (demo-Api)",
                "create Function Inline (demo-Inline)",
                "create ReservedConcurrency Api.ReservedConcurrency (demo-Api)",
                "create EventInvokeConfig Inline.EventInvokeConfig (demo-Inline)",
                "create Alias Inline.Alias (live)"}))
      << first;
  EXPECT_NE(first.out.find("ApiArn                   "
                           "arn:aws:lambda:us-east-1:000000000000:function:demo-Api"),
            std::string::npos)
      << first;
  EXPECT_NE(first.out.find("arn:aws:lambda:us-east-1:000000000000:layer:demo-Shared:1"),
            std::string::npos)
      << first;

  // The function runs with its layer, Globals and the parameter's default.
  auto r = daemon_->invoke("demo-Api", "{}");
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(testsupport::body_json(r), (json{{"message", "HELLO FROM DEMO"}, {"stage", "test"}}));
  auto alias = daemon_->invoke("demo-Inline:live", "{}");
  ASSERT_EQ(alias->status, 200) << alias->body;
  EXPECT_EQ(testsupport::body_json(alias), (json{{"inline", true}, {"version", "1"}}));
  // Per-function settings as the template says.
  const json config = get("/2015-03-31/functions/demo-Api/configuration");
  EXPECT_EQ(config["MemorySize"], 256);
  EXPECT_EQ(config["Timeout"], 5);
  EXPECT_EQ(get("/2019-09-30/functions/demo-Api/concurrency")["ReservedConcurrentExecutions"], 2);
  EXPECT_EQ(get("/2017-03-31/tags/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Ademo-"
                "Api")["Tags"],
            (json{{"team", "web"}}));
  const json eic = get("/2019-09-25/functions/demo-Inline/event-invoke-config");
  EXPECT_EQ(eic["MaximumRetryAttempts"], 0);
  EXPECT_EQ(eic["MaximumEventAgeInSeconds"], 120);
  EXPECT_EQ(get("/2015-03-31/functions/demo-Inline/configuration")["DeadLetterConfig"]["TargetArn"],
            "arn:aws:sqs:us-east-1:000000000000:demo-dlq");

  // Unchanged: nothing is called but the record's read.
  auto again = deploy();
  ASSERT_EQ(again.status, 0) << again;
  EXPECT_NE(again.out.find("No changes: stack demo is up to date"), std::string::npos) << again;
  EXPECT_TRUE(lines_starting(again.out, "update ").empty()) << again;
  const std::string modified = config["LastModified"];
  EXPECT_EQ(get("/2015-03-31/functions/demo-Api/configuration")["LastModified"], modified);

  // One property changed: only that resource is updated.
  auto changed = deploy({"--parameter-overrides", "Reserved=3"});
  ASSERT_EQ(changed.status, 0) << changed;
  EXPECT_EQ(
      lines_starting(changed.out, "update "),
      (std::vector<std::string>{"update ReservedConcurrency Api.ReservedConcurrency (demo-Api)"}))
      << changed;
  EXPECT_TRUE(lines_starting(changed.out, "create ").empty()) << changed;
  EXPECT_EQ(get("/2019-09-30/functions/demo-Api/concurrency")["ReservedConcurrentExecutions"], 3);
  EXPECT_EQ(get("/2015-03-31/functions/demo-Api/configuration")["LastModified"], modified);

  // New code and greeting: the function's code and configuration; the alias untouched.
  write("src/app.py",
        "import os, greeting\n"
        "def handler(event, context):\n"
        "    return {'message': greeting.shout(os.environ['GREETING']) + '!'}\n");
  auto code = deploy({"--parameter-overrides", "Reserved=3", "Greeting=Hi"});
  ASSERT_EQ(code.status, 0) << code;
  EXPECT_EQ(lines_starting(code.out, "update "),
            (std::vector<std::string>{"update Function Api (demo-Api)"}))
      << code;
  r = daemon_->invoke("demo-Api", "{}");
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(testsupport::body_json(r), (json{{"message", "HI FROM DEMO!"}}));

  // The stack as the daemon keeps it.
  auto described = cli({"stack", "describe", "demo"});
  ASSERT_EQ(described.status, 0) << described;
  EXPECT_NE(described.out.find("Inline.Alias"), std::string::npos) << described;
  EXPECT_NE(described.out.find("LayerArn"), std::string::npos) << described;
  auto listed = cli({"stack", "list"});
  ASSERT_EQ(listed.status, 0) << listed;
  EXPECT_NE(listed.out.find("\ndemo "), std::string::npos) << listed;

  // Delete: every resource goes, and the record.
  auto deleted = cli({"stack", "delete", "demo"});
  ASSERT_EQ(deleted.status, 0) << deleted;
  EXPECT_EQ(get("/2015-03-31/functions")["Functions"], json::array());
  EXPECT_EQ(get("/2018-10-31/layers")["Layers"], json::array());
  EXPECT_EQ(get("/2018-10-31/layers/demo-Shared/versions")["LayerVersions"], json::array());
  get("/2015-03-31/functions/demo-Inline/aliases", 404);
  get("/runtimed/v1/stacks/demo", 404);
  EXPECT_EQ(get("/runtimed/v1/stacks")["Stacks"], json::array());
}

TEST_F(DeployTest, AnUnsupportedResourceIsRefusedWithItsLineBeforeAnythingChanges) {
  write("template.yaml",
        std::string(kTemplate).replace(std::string(kTemplate).find("Outputs:"), 8,
                                       "  Table:\n    Type: AWS::DynamoDB::Table\nOutputs:"));
  auto run = deploy();
  EXPECT_EQ(run.status, 2) << run;
  EXPECT_NE(run.err.find("template.yaml line 50: resource Table has type AWS::DynamoDB::Table, "
                         "which runtimed deploy does not support"),
            std::string::npos)
      << run;
  EXPECT_EQ(get("/2015-03-31/functions")["Functions"], json::array());
  EXPECT_EQ(get("/2018-10-31/layers")["Layers"], json::array());
  get("/runtimed/v1/stacks/demo", 404);
}

TEST_F(DeployTest, StackRecordsAreKeptByTheDaemonAcrossRestarts) {
  ASSERT_EQ(deploy().status, 0);
  // A record is a JSON object with Resources; anything else is refused.
  auto bad = daemon_->client().Put("/runtimed/v1/stacks/x", "[]", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(bad->get_header_value("x-amzn-ErrorType"), "InvalidRequestContentException");
  auto bad_name = daemon_->client().Get("/runtimed/v1/stacks/9lives");
  ASSERT_TRUE(bad_name);
  EXPECT_EQ(bad_name->status, 400);
  const json before = get("/runtimed/v1/stacks/demo");
  EXPECT_EQ(before["Record"]["Resources"].size(), 6u);

  const fs::path state = daemon_->state_dir();
  const std::string cgroup = daemon_->cgroup_parent();
  testsupport::expect_clean_stop(*daemon_);
  // The first daemon owns the state dir (its temp dir): kept until the second has stopped.
  first_run_ = std::move(daemon_);
  daemon_ = std::make_unique<testsupport::DaemonProcess>(std::vector<std::string>{}, state, cgroup);
  endpoint_ = "http://127.0.0.1:" + std::to_string(daemon_->port());
  EXPECT_EQ(get("/runtimed/v1/stacks/demo")["Record"], before["Record"]);
  auto again = deploy();
  ASSERT_EQ(again.status, 0) << again;
  EXPECT_NE(again.out.find("No changes"), std::string::npos) << again;
  ASSERT_EQ(cli({"stack", "delete", "demo"}).status, 0);
}

// A deploy that fails part-way keeps what it made in the record; the next one continues from it.
TEST_F(DeployTest, AFailedDeployIsContinuedByTheNext) {
  constexpr const char* kTwo = R"(Resources:
  First:
    Type: AWS::Serverless::Function
    Properties: {Runtime: python3.12, Handler: index.handler, InlineCode: "x = 1"}
  Second:
    Type: AWS::Serverless::Function
    Properties: {Runtime: RUNTIME, Handler: index.handler, InlineCode: "x = 2"}
)";
  std::string broken = kTwo;
  broken.replace(broken.find("RUNTIME"), 7, "cobol85");
  write("template.yaml", broken);
  auto failed = deploy();
  EXPECT_EQ(failed.status, 2) << failed;
  EXPECT_NE(failed.err.find("create Second (POST /2015-03-31/functions): "
                            "InvalidParameterValueException"),
            std::string::npos)
      << failed;
  const json record = get("/runtimed/v1/stacks/demo")["Record"]["Resources"];
  EXPECT_TRUE(record.contains("First")) << record;
  EXPECT_FALSE(record.contains("Second")) << record;

  std::string fixed = kTwo;
  fixed.replace(fixed.find("RUNTIME"), 7, "python3.12");
  write("template.yaml", fixed);
  auto next = deploy();
  ASSERT_EQ(next.status, 0) << next;
  EXPECT_EQ(lines_starting(next.out, "create "),
            (std::vector<std::string>{"create Function Second (demo-Second)"}))
      << next;
  ASSERT_EQ(cli({"stack", "delete", "demo"}).status, 0);
  EXPECT_EQ(get("/2015-03-31/functions")["Functions"], json::array());
}

// The example app (examples/sam-app, deployed by scripts/run.sh) reads and plans against a real
// daemon; --dry-run makes no call but the reads.
TEST_F(DeployTest, TheExampleAppPlansEveryResourceInOrder) {
  auto run = cli({"deploy", testsupport::source_path("examples/sam-app/template.yaml").string(),
                  "--stack-name", "sam-app", "--dry-run"});
  ASSERT_EQ(run.status, 0) << run;
  std::vector<std::string> calls = lines_starting(run.out, "  ");
  EXPECT_EQ(calls,
            (std::vector<std::string>{
                "  POST /2018-10-31/layers/sam-app-SharedLayer/versions",
                "  PUT /runtimed/v1/queues/sam-app-JobsDeadLetters",
                "  PUT /runtimed/v1/queues/sam-app-JobsQueue", "  POST /2015-03-31/functions",
                "  POST /2015-03-31/functions", "  POST /2015-03-31/functions",
                "  PUT /2017-10-31/functions/sam-app-WorkerFunction/concurrency",
                "  PUT /2019-09-25/functions/sam-app-NightlyFunction/event-invoke-config",
                "  PUT /runtimed/v1/http-apis/sam-app-ServerlessHttpApi",
                "  PUT /runtimed/v1/schedules/sam-app-NightlyFunction-Nightly",
                "  POST /2015-03-31/event-source-mappings/"}))
      << run;
  EXPECT_EQ(get("/2015-03-31/functions")["Functions"], json::array());
  get("/runtimed/v1/stacks/sam-app", 404);
}

// The example app for real: deployed, its HTTP API answering over the trigger listener and its
// worker draining the jobs queue; then changed (a parameter, and a function with its schedule
// removed) and re-deployed, then deleted with nothing of it left.
TEST_F(DeployTest, TheExampleAppDeploysServesChangesAndLeavesNothing) {
  fs::copy(testsupport::source_path("examples/sam-app"), dir() / "sam-app",
           fs::copy_options::recursive);
  const std::string tmpl = (dir() / "sam-app/template.yaml").string();
  auto first = cli({"deploy", tmpl, "--stack-name", "sam-app"});
  ASSERT_EQ(first.status, 0) << first;
  const int http_port = daemon_->http_port();
  ASSERT_GT(http_port, 0) << daemon_->daemon_log();
  httplib::Client http("127.0.0.1", http_port);
  http.set_read_timeout(std::chrono::seconds(30));
  // The API's routes under its path prefix: ApiEndpoint is http://HOST:PORT/execute-api/<id>.
  const std::string endpoint =
      get("/runtimed/v1/http-apis/sam-app-ServerlessHttpApi").value("ApiEndpoint", "");
  const auto prefix_at = endpoint.find("/execute-api/");
  ASSERT_NE(prefix_at, std::string::npos) << endpoint;
  const std::string api = endpoint.substr(prefix_at);
  auto item = http.Get(api + "/items/42");
  ASSERT_TRUE(item);
  EXPECT_EQ(item->status, 200) << item->body;
  EXPECT_EQ(json::parse(item->body, nullptr, false), (json{{"id", "42"}, {"stage", "dev"}}));
  auto hello = http.Get(api + "/hello?name=sam");
  ASSERT_TRUE(hello);
  EXPECT_EQ(json::parse(hello->body, nullptr, false)["message"], "Hello, sam!") << hello->body;
  EXPECT_EQ(get("/runtimed/v1/schedules/sam-app-NightlyFunction-Nightly")["ScheduleExpression"],
            "cron(0 2 * * ? *)");

  // The worker consumes a job sent to the queue (deleted after its success).
  auto sent = daemon_->client().Post("/runtimed/v1/queues/sam-app-JobsQueue/messages",
                                     R"({"id":"job-1"})", "application/json");
  ASSERT_TRUE(sent && sent->status == 200) << (sent ? sent->body : "no answer");
  auto pending = [&] {
    const json queues = get("/runtimed/v1/queues");
    for (const auto& q : queues["Queues"])
      if (q["Name"] == "sam-app-JobsQueue")
        return q["ApproximateNumberOfMessages"].get<int>() +
               q["ApproximateNumberOfMessagesNotVisible"].get<int>();
    return -1;
  };
  int left = pending();
  for (int i = 0; i < 150 && left != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    left = pending();
  }
  EXPECT_EQ(left, 0) << daemon_->daemon_log();

  // The change: the nightly function (and with it its schedule and event-invoke config) goes,
  // and the greeting is overridden.
  std::string text;
  {
    std::ifstream in(tmpl);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  const auto from = text.find("  NightlyFunction:");
  const auto to = text.find("Outputs:");
  ASSERT_NE(from, std::string::npos);
  ASSERT_NE(to, std::string::npos);
  text.erase(from, to - from);
  std::ofstream(tmpl) << text;
  auto second =
      cli({"deploy", tmpl, "--stack-name", "sam-app", "--parameter-overrides", "Greeting=Howdy"});
  ASSERT_EQ(second.status, 0) << second;
  get("/2015-03-31/functions/sam-app-NightlyFunction", 404);
  get("/runtimed/v1/schedules/sam-app-NightlyFunction-Nightly", 404);
  hello = http.Get(api + "/hello?name=sam");
  ASSERT_TRUE(hello);
  EXPECT_EQ(json::parse(hello->body, nullptr, false)["message"], "Howdy, sam!") << hello->body;
  auto unchanged =
      cli({"deploy", tmpl, "--stack-name", "sam-app", "--parameter-overrides", "Greeting=Howdy"});
  ASSERT_EQ(unchanged.status, 0) << unchanged;
  EXPECT_NE(unchanged.out.find("No changes"), std::string::npos) << unchanged;

  ASSERT_EQ(cli({"stack", "delete", "sam-app"}).status, 0);
  EXPECT_EQ(get("/2015-03-31/functions")["Functions"], json::array());
  EXPECT_EQ(get("/runtimed/v1/queues")["Queues"], json::array());
  EXPECT_EQ(get("/runtimed/v1/schedules")["Schedules"], json::array());
  EXPECT_EQ(get("/2015-03-31/event-source-mappings/")["EventSourceMappings"], json::array());
  EXPECT_EQ(get("/runtimed/v1/http-apis")["Items"], json::array());
  EXPECT_EQ(get("/2018-10-31/layers")["Layers"], json::array());
  get("/runtimed/v1/stacks/sam-app", 404);
  auto gone = http.Get(api + "/items/42");
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->status, 404) << gone->body;
}

// A function whose CodeUri is a .zip, with EphemeralStorage: the code comes from the archive and
// the environment's /tmp is as large as the template asks.
TEST_F(DeployTest, AZipCodeUriAndEphemeralStorageReachTheEnvironment) {
  fs::create_directories(dir() / "zipsrc");
  write("zipsrc/app.py",
        "import os\n"
        "def handler(event, context):\n"
        "    st = os.statvfs('/tmp')\n"
        "    return {'zipped': True, 'tmp_mb': st.f_blocks * st.f_frsize // (1024 * 1024)}\n");
  auto zipped = testsupport::run_command({"/usr/bin/zip", "-j", "-q", (dir() / "fn.zip").string(),
                                          (dir() / "zipsrc/app.py").string()});
  ASSERT_EQ(zipped.status, 0) << zipped;
  write("template.yaml", R"(Resources:
  Zipped:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: fn.zip
      EphemeralStorage:
        Size: 1024
)");
  auto run = deploy();
  ASSERT_EQ(run.status, 0) << run;
  EXPECT_EQ(get("/2015-03-31/functions/demo-Zipped/configuration")["EphemeralStorage"]["Size"],
            1024);
  auto r = daemon_->client().Post("/2015-03-31/functions/demo-Zipped/invocations", "{}",
                                  "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json answer = json::parse(r->body, nullptr, false);
  EXPECT_EQ(answer["zipped"], true) << r->body;
  // A 1024 MB file system, less its own bookkeeping; the default would be 512.
  EXPECT_GT(answer.value("tmp_mb", 0), 900) << r->body;
  EXPECT_LE(answer.value("tmp_mb", 0), 1024) << r->body;
  ASSERT_EQ(cli({"stack", "delete", "demo"}).status, 0);
  EXPECT_EQ(get("/2015-03-31/functions")["Functions"], json::array());
}

// Events, URLs, queues and provisioned concurrency: deployed, read back through their APIs,
// unchanged by a second deploy, and all gone with the stack.
constexpr const char* kEventsTemplate = R"(Resources:
  Jobs:
    Type: AWS::SQS::Queue
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      InlineCode: |
        def handler(event, context):
            return {"statusCode": 200, "body": event.get("rawPath", "scheduled")}
      AutoPublishAlias: live
      ProvisionedConcurrencyConfig: {ProvisionedConcurrentExecutions: 1}
      FunctionUrlConfig: {AuthType: NONE}
      Events:
        Get: {Type: HttpApi, Properties: {Path: "/items/{id}", Method: GET}}
        Tick: {Type: Schedule, Properties: {Schedule: rate(1 minute)}}
        Work: {Type: SQS, Properties: {Queue: !GetAtt Jobs.Arn, BatchSize: 5}}
Outputs:
  Endpoint:
    Value: !GetAtt ServerlessHttpApi.ApiEndpoint
  Url:
    Value: !GetAtt FnUrl.FunctionUrl
)";

TEST_F(DeployTest, EventsUrlsQueuesAndProvisionedConcurrencyDeployAndDelete) {
  write("template.yaml", kEventsTemplate);
  auto run = deploy();
  ASSERT_EQ(run.status, 0) << run;
  EXPECT_EQ(get("/runtimed/v1/http-apis/demo-ServerlessHttpApi")["Routes"][0]["RouteKey"],
            "GET /items/{id}");
  EXPECT_EQ(get("/runtimed/v1/schedules/demo-Fn-Tick")["ScheduleExpression"], "rate(1 minute)");
  EXPECT_EQ(get("/2015-03-31/event-source-mappings/")["EventSourceMappings"].size(), 1u);
  EXPECT_EQ(get("/2021-10-31/functions/demo-Fn/url?Qualifier=live")["AuthType"], "NONE");
  EXPECT_EQ(get("/2019-09-30/functions/demo-Fn/provisioned-concurrency?Qualifier=live")
                ["RequestedProvisionedConcurrentExecutions"],
            1);
  auto again = deploy();
  ASSERT_EQ(again.status, 0) << again;
  EXPECT_NE(again.out.find("No changes"), std::string::npos) << again;
  ASSERT_EQ(cli({"stack", "delete", "demo"}).status, 0);
  EXPECT_EQ(get("/runtimed/v1/http-apis")["Items"], json::array());
  EXPECT_EQ(get("/runtimed/v1/schedules")["Schedules"], json::array());
  EXPECT_EQ(get("/2015-03-31/event-source-mappings/")["EventSourceMappings"], json::array());
  EXPECT_EQ(get("/2015-03-31/functions")["Functions"], json::array());
}

// What the template's HTTP events set reaches a client of the HTTP listener: an explicit
// AWS::Serverless::HttpApi's CorsConfiguration (preflight and simple request), an HttpApi event's
// TimeoutInMillis (API Gateway's 503 past it) and an Api event (served as an HTTP API route).
constexpr const char* kHttpEventsTemplate = R"(Transform: AWS::Serverless-2016-10-31
Resources:
  Web:
    Type: AWS::Serverless::HttpApi
    Properties:
      CorsConfiguration:
        AllowOrigins: ["https://app.example"]
        AllowMethods: [GET]
        MaxAge: 600
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      InlineCode: |
        import time
        def handler(event, context):
            if event["rawPath"] == "/slow":
                time.sleep(3)
            return {"route": event["routeKey"], "params": event.get("pathParameters")}
      Events:
        Items:
          Type: HttpApi
          Properties: {ApiId: !Ref Web, Path: /items, Method: get}
        Slow:
          Type: HttpApi
          Properties: {ApiId: !Ref Web, Path: /slow, Method: get, TimeoutInMillis: 1000}
        Legacy:
          Type: Api
          Properties: {Path: "/old/{name}", Method: get}
)";

TEST_F(DeployTest, CorsTimeoutsAndApiEventsOfATemplateReachItsHttpClients) {
  write("template.yaml", kHttpEventsTemplate);
  auto run = deploy();
  ASSERT_EQ(run.status, 0) << run;
  const std::string web = get("/runtimed/v1/http-apis/demo-Web").value("ApiId", "");
  const std::string rest = get("/runtimed/v1/http-apis/demo-ServerlessRestApi").value("ApiId", "");
  ASSERT_FALSE(web.empty());
  ASSERT_FALSE(rest.empty());
  httplib::Client http("127.0.0.1", daemon_->http_port());
  http.set_read_timeout(30, 0);
  const httplib::Headers from_app = {{"Origin", "https://app.example"}};

  auto preflight =
      http.Options("/execute-api/" + web + "/items",
                   {{"Origin", "https://app.example"}, {"Access-Control-Request-Method", "GET"}});
  ASSERT_TRUE(preflight);
  EXPECT_EQ(preflight->status, 204);
  EXPECT_EQ(preflight->get_header_value("access-control-allow-origin"), "https://app.example");
  EXPECT_EQ(preflight->get_header_value("access-control-allow-methods"), "GET");
  EXPECT_EQ(preflight->get_header_value("access-control-max-age"), "600");

  auto items = http.Get("/execute-api/" + web + "/items", from_app);
  ASSERT_TRUE(items);
  EXPECT_EQ(items->status, 200) << items->body;
  EXPECT_EQ(items->get_header_value("access-control-allow-origin"), "https://app.example");
  EXPECT_EQ(json::parse(items->body, nullptr, false),
            (json{{"route", "GET /items"}, {"params", nullptr}}));
  // Another origin gets the answer without CORS headers, as API Gateway sends it.
  auto elsewhere = http.Get("/execute-api/" + web + "/items", {{"Origin", "https://evil.example"}});
  ASSERT_TRUE(elsewhere);
  EXPECT_EQ(elsewhere->status, 200);
  EXPECT_FALSE(elsewhere->has_header("access-control-allow-origin"));

  const auto start = std::chrono::steady_clock::now();
  auto slow = http.Get("/execute-api/" + web + "/slow", from_app);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(slow);
  EXPECT_EQ(slow->status, 503) << slow->body;
  EXPECT_EQ(json::parse(slow->body, nullptr, false), (json{{"message", "Service Unavailable"}}));
  EXPECT_EQ(slow->get_header_value("access-control-allow-origin"), "https://app.example");
  EXPECT_GE(took, std::chrono::milliseconds(1000));
  EXPECT_LT(took, std::chrono::milliseconds(2800));  // before the 3 s sleep ends

  auto legacy = http.Get("/execute-api/" + rest + "/old/abc");
  ASSERT_TRUE(legacy);
  EXPECT_EQ(legacy->status, 200) << legacy->body;
  EXPECT_EQ(json::parse(legacy->body, nullptr, false),
            (json{{"route", "GET /old/{name}"}, {"params", {{"name", "abc"}}}}));

  ASSERT_EQ(cli({"stack", "delete", "demo"}).status, 0);
  EXPECT_EQ(get("/runtimed/v1/http-apis")["Items"], json::array());
}

}  // namespace
