// A RESPONSE_STREAM Function URL's answer without a daemon: the prelude of an
// http-integration-response stream becomes the head, a plain stream is a 200 of its type, and a
// failure after the head cuts the body off.
#include <gtest/gtest.h>

#include "runtimed/triggers/url_response_stream.hpp"

namespace runtimed {
namespace {

struct Answers {
  std::vector<api::HttpResponse> replies;
  std::shared_ptr<UrlResponseStream> stream() {
    return std::make_shared<UrlResponseStream>(
        [this](api::HttpResponse r) { replies.push_back(std::move(r)); },
        [](api::HttpResponse& r) { r.set_header("x-amzn-requestid", "req"); },
        [](const api::InvokeResult& result) {
          api::HttpResponse r;
          r.status = result.function_error ? 502 : 200;
          r.body = result.payload;
          return r;
        });
  }
};

std::string header(const api::HttpResponse& r, const std::string& name) {
  std::string found;
  for (const auto& [n, v] : r.headers) {
    if (n == name) found += (found.empty() ? "" : ",") + v;
  }
  return found;
}

const std::string kNuls(8, '\0');

TEST(PreludeHead, ReadsStatusHeadersAndCookies) {
  auto head = prelude_head(R"({"statusCode":201,"headers":{"x-a":"1"},"cookies":["a=1","b=2"]})");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 201);
  EXPECT_EQ(header(*head, "x-a"), "1");
  EXPECT_EQ(header(*head, "set-cookie"), "a=1,b=2");
  EXPECT_TRUE(head->body.empty());
  auto bare = prelude_head(R"({"headers":{"content-type":"text/html"}})");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->status, 200);
  EXPECT_FALSE(prelude_head("not json"));
  EXPECT_FALSE(prelude_head(R"({"statusCode":"two hundred"})"));
  EXPECT_FALSE(prelude_head("[1,2]"));
}

TEST(PreludeHead, AGatheredStreamIsItsPreludesHeadWithTheRestAsBody) {
  auto whole =
      gathered_http_response(R"({"statusCode":202,"cookies":["c=3"]})" + kNuls + "the body");
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->status, 202);
  EXPECT_EQ(header(*whole, "set-cookie"), "c=3");
  EXPECT_EQ(whole->body, "the body");
  EXPECT_FALSE(gathered_http_response("garbage" + kNuls + "body"));
}

TEST(UrlResponseStream, APreludeSplitAcrossPiecesBecomesTheHead) {
  Answers answers;
  auto stream = answers.stream();
  stream->begin(std::string(kHttpIntegrationResponse), "$LATEST");
  EXPECT_TRUE(answers.replies.empty()) << "the head waits for the prelude";
  stream->write(R"({"statusCode":404,"head)");
  stream->write(R"(ers":{"x-b":"2"}})" + kNuls.substr(0, 3));
  EXPECT_TRUE(answers.replies.empty());
  stream->write(kNuls.substr(3) + "body starts");
  ASSERT_EQ(answers.replies.size(), 1u);
  const api::HttpResponse& head = answers.replies[0];
  EXPECT_EQ(head.status, 404);
  EXPECT_EQ(header(head, "x-b"), "2");
  EXPECT_EQ(header(head, "x-amzn-requestid"), "req");
  ASSERT_TRUE(head.stream);
  stream->write(" and goes on");
  stream->complete(api::InvokeResult{});
  auto taken = head.stream->take_or_wait([] {});
  EXPECT_EQ(taken.data, "body starts and goes on");
  EXPECT_TRUE(taken.finished);
  EXPECT_FALSE(taken.failed);
}

TEST(UrlResponseStream, APlainStreamIsA200OfItsTypeAndAFailureCutsItOff) {
  Answers answers;
  auto stream = answers.stream();
  stream->begin("text/csv", "$LATEST");
  ASSERT_EQ(answers.replies.size(), 1u);
  EXPECT_EQ(answers.replies[0].status, 200);
  EXPECT_EQ(header(answers.replies[0], "content-type"), "text/csv");
  stream->write("a,b\n");
  api::InvokeResult failed;
  failed.function_error = true;
  stream->complete(failed);
  auto taken = answers.replies[0].stream->take_or_wait([] {});
  EXPECT_EQ(taken.data, "a,b\n");
  EXPECT_TRUE(taken.failed);
}

TEST(UrlResponseStream, AMalformedOrMissingPreludeIsAnsweredWithoutStreaming) {
  Answers garbled;
  auto stream = garbled.stream();
  stream->begin(std::string(kHttpIntegrationResponse), "$LATEST");
  stream->write("not json" + kNuls + "body");
  ASSERT_EQ(garbled.replies.size(), 1u);
  EXPECT_EQ(garbled.replies[0].status, 502);
  EXPECT_FALSE(garbled.replies[0].stream);

  Answers endless;
  stream = endless.stream();
  stream->begin(std::string(kHttpIntegrationResponse), "$LATEST");
  stream->write(std::string(kMaxPrelude + 1, ' '));
  ASSERT_EQ(endless.replies.size(), 1u);
  EXPECT_EQ(endless.replies[0].status, 502);

  Answers empty;
  stream = empty.stream();
  stream->begin(std::string(kHttpIntegrationResponse), "$LATEST");
  stream->complete(api::InvokeResult{});
  ASSERT_EQ(empty.replies.size(), 1u);
  EXPECT_EQ(empty.replies[0].status, 200);
  EXPECT_TRUE(empty.replies[0].body.empty());

  Answers unstreamed;
  stream = unstreamed.stream();
  api::InvokeResult whole;
  whole.payload = R"({"statusCode":200,"body":"hi"})";
  stream->complete(whole);
  ASSERT_EQ(unstreamed.replies.size(), 1u);
  EXPECT_EQ(unstreamed.replies[0].body, whole.payload) << "answered as BUFFERED would";
}

}  // namespace
}  // namespace runtimed
