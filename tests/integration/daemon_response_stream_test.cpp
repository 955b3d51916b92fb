// Response streaming against the real daemon: runtimes that post their response in streaming
// mode (the C test runtime, runtimed's Node runtime with awslambda.streamifyResponse), read by
// AWS's JavaScript SDK's InvokeWithResponseStream (clients/sdk_response_stream.cjs) and by curl
// through RESPONSE_STREAM Function URLs, the first byte timed against the function's end. AWS's
// own Node RIC streams in daemon_aws_ric_test.cpp.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cctype>
#include <cstdio>
#include <fstream>

#include "tests/integration/daemon_test.hpp"

namespace {

using nlohmann::json;

// The streaming handler both Node runtimes run: `chunks` chunks `ms` apart, an HTTP head when
// `http` is set (for Function URLs), a content type, or a failure after the chunks.
const char* kStreamJs = R"JS(
exports.handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  const args = event.queryStringParameters ?? event;
  const chunks = Number(args.chunks ?? 3);
  const ms = Number(args.ms ?? 0);
  if (args.http) {
    responseStream = awslambda.HttpResponseStream.from(responseStream, {
      statusCode: 201,
      headers: { 'content-type': 'text/plain', 'x-streamed': 'yes' },
      cookies: ['flavour=ginger', 'size=large'],
    });
  } else if (args.type) {
    responseStream.setContentType(args.type);
  }
  for (let i = 0; i < chunks; i++) {
    if (i > 0 && ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
    responseStream.write(`chunk ${i} of ${context.functionName}\n`);
  }
  if (args.fail) throw new Error('the stream broke');
  responseStream.end();
});
)JS";

// What curl saw of one request: exit status, head and body, and when the first byte came.
struct CurlRun {
  int exit_status = -1;
  std::string head;
  std::string body;
  double first_byte_s = 0;
  double total_s = 0;
};

std::string percent_encode(const std::string& text) {
  std::string out;
  for (const unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

CurlRun curl_stream(const std::string& url, const std::filesystem::path& dir) {
  const auto head = dir / "head", body = dir / "body";
  auto run = testsupport::run_command({"/usr/bin/curl", "-sS", "-N", "--max-time", "30", "-D",
                                       head.string(), "-o", body.string(), "-w",
                                       "%{time_starttransfer} %{time_total}", url});
  CurlRun r;
  r.exit_status = run.status;
  std::sscanf(run.out.c_str(), "%lf %lf", &r.first_byte_s, &r.total_s);
  std::ifstream h(head), b(body);
  r.head.assign(std::istreambuf_iterator<char>(h), {});
  r.body.assign(std::istreambuf_iterator<char>(b), {});
  return r;
}

class DaemonResponseStreamTest : public testsupport::DaemonTest {
 protected:
  void SetUp() override {
    start({"--http-listen", "127.0.0.1:0"});
    ASSERT_GT(daemon_->http_port(), 0) << daemon_->daemon_log();
  }
  // A RESPONSE_STREAM Function URL for `function`: its URL.
  std::string stream_url(const std::string& function) {
    auto r = daemon_->client().Post(
        "/2021-10-31/functions/" + function + "/url",
        json{{"AuthType", "NONE"}, {"InvokeMode", "RESPONSE_STREAM"}}.dump(), "application/json");
    EXPECT_TRUE(r);
    if (!r) return "";
    EXPECT_EQ(r->status, 201) << r->body;
    const auto config = json::parse(r->body, nullptr, false);
    EXPECT_EQ(config.value("InvokeMode", ""), "RESPONSE_STREAM") << r->body;
    return config.value("FunctionUrl", "");
  }
  testsupport::TempDir scratch_{"rt-stream"};
};

TEST_F(DaemonResponseStreamTest, TheJsSdkReadsAStreamAsTheCRuntimeWritesIt) {
  RT_REQUIRE_AWS_SDK_JS();
  ASSERT_EQ(daemon_->create_function("c-stream", {{"Timeout", 2}}), 201);
  const auto run = testsupport::run_sdk_script(
      "sdk_response_stream.cjs",
      {"http://127.0.0.1:" + std::to_string(daemon_->port()), "c-stream", "c"}, scratch_.path());
  EXPECT_EQ(run.status, 0) << run << daemon_->daemon_log() << daemon_->function_log("c-stream");
  EXPECT_NE(run.out.find("ok\n"), std::string::npos) << run;
  std::cout << run.out;
}

TEST_F(DaemonResponseStreamTest, AFunctionUrlServesTheStreamChunkByChunkWithItsPreludeHead) {
  ASSERT_EQ(daemon_->create_function("url-stream", {{"Timeout", 10}}), 201);
  const std::string url = stream_url("url-stream");
  ASSERT_FALSE(url.empty());
  curl_stream(url + "?action=stream&chunks=1", scratch_.path());  // warm

  // Raw chunks 400 ms apart: a 200 of the stream's type, the first byte long before the end.
  auto plain = curl_stream(url + "?action=stream&chunks=4&ms=400", scratch_.path());
  EXPECT_EQ(plain.exit_status, 0) << plain.head;
  EXPECT_NE(plain.head.find("HTTP/1.1 200 OK"), std::string::npos) << plain.head;
  EXPECT_NE(plain.head.find("content-type: application/octet-stream"), std::string::npos);
  EXPECT_NE(plain.head.find("Transfer-Encoding: chunked"), std::string::npos) << plain.head;
  EXPECT_EQ(plain.body, "chunk 0\nchunk 1\nchunk 2\nchunk 3\n");
  EXPECT_GE(plain.total_s, 1.1);
  EXPECT_LT(plain.first_byte_s, 0.6) << "total " << plain.total_s;

  // An http-integration-response stream: its prelude is the status, headers and cookies.
  const std::string prelude =
      R"({"statusCode":201,"headers":{"x-custom":"yes","content-type":"text/plain"},)"
      R"("cookies":["a=1","b=2"]})";
  auto shaped = curl_stream(
      url + "?action=stream&chunks=2&content_type=application/vnd.awslambda.http-integration-" +
          "response&prelude=" + percent_encode(prelude),
      scratch_.path());
  EXPECT_EQ(shaped.exit_status, 0);
  EXPECT_NE(shaped.head.find("HTTP/1.1 201 Created"), std::string::npos) << shaped.head;
  EXPECT_NE(shaped.head.find("x-custom: yes"), std::string::npos) << shaped.head;
  EXPECT_NE(shaped.head.find("set-cookie: a=1\r\nset-cookie: b=2"), std::string::npos);
  EXPECT_EQ(shaped.body, "chunk 0\nchunk 1\n");

  // A failure after the head: the body is cut off (curl: 18, a partial transfer).
  auto failed = curl_stream(url + "?action=stream&chunks=2&fail=1", scratch_.path());
  EXPECT_EQ(failed.exit_status, 18) << failed.head << failed.body;
  EXPECT_EQ(failed.body, "chunk 0\nchunk 1\n");

  // Past 20 MB the stream ends there, cut off; the next request is served as usual.
  auto huge = curl_stream(url + "?action=stream&chunks=24&bytes=1048576", scratch_.path());
  EXPECT_EQ(huge.exit_status, 18);
  EXPECT_LE(huge.body.size(), 20u * 1024 * 1024);
  EXPECT_GE(huge.body.size(), 19u * 1024 * 1024);
  auto after = curl_stream(url + "?action=stream&chunks=1", scratch_.path());
  EXPECT_EQ(after.exit_status, 0);
  EXPECT_EQ(after.body, "chunk 0\n");
}

TEST_F(DaemonResponseStreamTest, RuntimedsNodeRuntimeStreamsWithStreamifyResponse) {
  RT_REQUIRE_AWS_SDK_JS();
  ASSERT_EQ(daemon_->create_function(
                "node-stream",
                {{"Runtime", "nodejs20.x"}, {"Handler", "stream.handler"}, {"Timeout", 10}},
                testsupport::zip_of({{"stream.js", kStreamJs}})),
            201);
  const auto run = testsupport::run_sdk_script(
      "sdk_response_stream.cjs",
      {"http://127.0.0.1:" + std::to_string(daemon_->port()), "node-stream", "node"},
      scratch_.path());
  EXPECT_EQ(run.status, 0) << run << daemon_->function_log("node-stream");
  EXPECT_NE(run.out.find("ok\n"), std::string::npos) << run;
  std::cout << run.out;

  const std::string url = stream_url("node-stream");
  auto shaped = curl_stream(url + "?http=1&chunks=3&ms=300", scratch_.path());
  EXPECT_EQ(shaped.exit_status, 0);
  EXPECT_NE(shaped.head.find("HTTP/1.1 201 Created"), std::string::npos) << shaped.head;
  EXPECT_NE(shaped.head.find("x-streamed: yes"), std::string::npos) << shaped.head;
  EXPECT_NE(shaped.head.find("set-cookie: flavour=ginger\r\nset-cookie: size=large"),
            std::string::npos)
      << shaped.head;
  EXPECT_EQ(shaped.body,
            "chunk 0 of node-stream\nchunk 1 of node-stream\nchunk 2 of node-stream\n");
  EXPECT_LT(shaped.first_byte_s, 0.4) << "total " << shaped.total_s;
  EXPECT_GE(shaped.total_s, 0.55);

  // Through an HTTP API route (which buffers) the same stream is gathered, and its prelude is
  // still the head.
  auto api = daemon_->client().Put(
      "/runtimed/v1/http-apis/streams",
      json{{"Routes",
            {{{"RouteKey", "GET /s"},
              {"FunctionArn", "arn:aws:lambda:us-east-1:000000000000:function:node-stream"}}}}}
          .dump(),
      "application/json");
  ASSERT_TRUE(api);
  ASSERT_EQ(api->status, 200) << api->body;
  const std::string endpoint = json::parse(api->body)["ApiEndpoint"];
  auto gathered = curl_stream(endpoint + "/s?http=1&chunks=2", scratch_.path());
  EXPECT_EQ(gathered.exit_status, 0);
  EXPECT_NE(gathered.head.find("HTTP/1.1 201 Created"), std::string::npos) << gathered.head;
  EXPECT_NE(gathered.head.find("x-streamed: yes"), std::string::npos) << gathered.head;
  EXPECT_NE(gathered.head.find("Content-Length: 46"), std::string::npos) << gathered.head;
  EXPECT_EQ(gathered.body, "chunk 0 of node-stream\nchunk 1 of node-stream\n");
}

}  // namespace
