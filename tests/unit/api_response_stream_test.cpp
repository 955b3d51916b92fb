// Response streaming's pieces without a daemon: the event stream encoding InvokeWithResponseStream
// answers with, its InvokeComplete event, StreamedBody's queue, and InvokeStreamResponse's
// answers before and after the function began to stream.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "api/event_stream.hpp"
#include "api/invoke_stream.hpp"
#include "api/streamed_body.hpp"

namespace api {
namespace {

uint32_t u32_at(const std::string& s, size_t at) {
  return static_cast<uint32_t>(static_cast<unsigned char>(s[at])) << 24 |
         static_cast<uint32_t>(static_cast<unsigned char>(s[at + 1])) << 16 |
         static_cast<uint32_t>(static_cast<unsigned char>(s[at + 2])) << 8 |
         static_cast<uint32_t>(static_cast<unsigned char>(s[at + 3]));
}

// One decoded event stream message: its string headers and payload (the CRCs are checked by the
// golden test below and by botocore in the integration tests).
struct Message {
  std::map<std::string, std::string> headers;
  std::string payload;
};

std::vector<Message> decode(std::string_view stream) {
  std::vector<Message> out;
  while (!stream.empty()) {
    const std::string s(stream.substr(0, 12));
    const uint32_t total = u32_at(s, 0), headers_len = u32_at(s, 4);
    const std::string m(stream.substr(0, total));
    Message msg;
    for (size_t at = 12; at < 12 + headers_len;) {
      const size_t name_len = static_cast<unsigned char>(m[at]);
      std::string name = m.substr(at + 1, name_len);
      at += 1 + name_len + 1;  // the type byte: 7, a string
      const size_t value_len = static_cast<size_t>(static_cast<unsigned char>(m[at])) << 8 |
                               static_cast<unsigned char>(m[at + 1]);
      msg.headers[name] = m.substr(at + 2, value_len);
      at += 2 + value_len;
    }
    msg.payload = m.substr(12 + headers_len, total - 12 - headers_len - 4);
    out.push_back(std::move(msg));
    stream.remove_prefix(total);
  }
  return out;
}

TEST(EventStream, EncodesAMessageAsAwsSpecifiesIt) {
  // Computed independently (Python's struct and zlib.crc32) and decoded by botocore's parser.
  const std::string m = event_stream_event("PayloadChunk", "application/octet-stream", "hi");
  ASSERT_EQ(m.size(), 108u);
  EXPECT_EQ(u32_at(m, 0), 0x6cu);          // total length
  EXPECT_EQ(u32_at(m, 4), 0x5au);          // headers length
  EXPECT_EQ(u32_at(m, 8), 0xb25efdcfu);    // prelude CRC-32
  EXPECT_EQ(u32_at(m, 104), 0x1162e469u);  // message CRC-32
  auto decoded = decode(m);
  ASSERT_EQ(decoded.size(), 1u);
  EXPECT_EQ(decoded[0].headers[":event-type"], "PayloadChunk");
  EXPECT_EQ(decoded[0].headers[":message-type"], "event");
  EXPECT_EQ(decoded[0].payload, "hi");
}

TEST(EventStream, PayloadChunksSplitLargePieces) {
  const std::string big(kMaxPayloadChunk * 2 + 10, 'z');
  auto decoded = decode(payload_chunk_events(big));
  ASSERT_EQ(decoded.size(), 3u);
  EXPECT_EQ(decoded[0].payload.size(), kMaxPayloadChunk);
  EXPECT_EQ(decoded[2].payload.size(), 10u);
  EXPECT_TRUE(payload_chunk_events("").empty());
}

TEST(EventStream, InvokeCompleteCarriesTheErrorAndTheLogTail) {
  InvokeResult ok;
  ok.log_tail = "START\nEND\n";
  auto done = decode(invoke_complete_event(ok, false));
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].headers[":event-type"], "InvokeComplete");
  EXPECT_EQ(done[0].headers[":content-type"], "application/json");
  EXPECT_EQ(nlohmann::json::parse(done[0].payload), nlohmann::json::object());
  EXPECT_EQ(nlohmann::json::parse(decode(invoke_complete_event(ok, true))[0].payload)["LogResult"],
            "U1RBUlQKRU5ECg==");
  InvokeResult failed;
  failed.function_error = true;
  failed.payload = R"({"errorType":"Sandbox.Timedout","errorMessage":"Task timed out"})";
  const auto e = nlohmann::json::parse(decode(invoke_complete_event(failed, false))[0].payload);
  EXPECT_EQ(e["ErrorCode"], "Sandbox.Timedout");
  EXPECT_EQ(e["ErrorDetails"], "Task timed out");
  failed.payload = "not json";
  const auto odd = nlohmann::json::parse(decode(invoke_complete_event(failed, false))[0].payload);
  EXPECT_EQ(odd["ErrorCode"], "Unhandled");
  EXPECT_EQ(odd["ErrorDetails"], "not json");
}

TEST(StreamedBody, QueuesPiecesWakesItsReaderAndTracksTheBacklog) {
  StreamedBody body;
  int woken = 0;
  auto taken = body.take_or_wait([&] { ++woken; });
  EXPECT_TRUE(taken.data.empty());
  EXPECT_FALSE(taken.finished);
  EXPECT_TRUE(body.write("ab"));
  EXPECT_EQ(woken, 1);
  EXPECT_TRUE(body.write("cd"));
  EXPECT_EQ(woken, 1) << "one wake per wait";
  EXPECT_EQ(body.backlog(), 4u);
  int resumed = 0;
  body.when_below(1, [&] { ++resumed; });
  EXPECT_EQ(resumed, 0);
  taken = body.take_or_wait([&] { ++woken; });
  EXPECT_EQ(taken.data, "abcd");
  EXPECT_EQ(body.backlog(), 4u) << "taken is not yet sent";
  body.sent(4);
  EXPECT_EQ(resumed, 1);
  EXPECT_EQ(body.backlog(), 0u);
  body.when_below(0, [&] { ++resumed; });
  EXPECT_EQ(resumed, 2) << "already below: at once";
  body.fail();
  taken = body.take_or_wait([] {});
  EXPECT_TRUE(taken.finished);
  EXPECT_TRUE(taken.failed);
  EXPECT_FALSE(body.write("late"));
}

TEST(StreamedBody, AbandonDropsWhatIsQueuedAndReleasesTheWaiter) {
  StreamedBody body;
  body.write(std::string(100, 'x'));
  bool resumed = false;
  body.when_below(10, [&] { resumed = true; });
  body.abandon();
  EXPECT_TRUE(resumed);
  EXPECT_TRUE(body.abandoned());
  EXPECT_EQ(body.backlog(), 0u);
  EXPECT_FALSE(body.write("more"));
}

// What an InvokeStreamResponse answered through its Reply.
struct Answers {
  std::vector<HttpResponse> replies;
  Reply reply() {
    return [this](HttpResponse r) { replies.push_back(std::move(r)); };
  }
};

TEST(InvokeStreamResponse, StreamsFromBeginAndEndsWithInvokeComplete) {
  Answers answers;
  auto stream = std::make_shared<InvokeStreamResponse>(answers.reply(), false, "req-1");
  stream->begin("text/plain", "7");
  ASSERT_EQ(answers.replies.size(), 1u);
  HttpResponse& head = answers.replies[0];
  EXPECT_EQ(head.status, 200);
  EXPECT_NE(std::find(head.headers.begin(), head.headers.end(),
                      std::pair<std::string, std::string>("X-Amz-Executed-Version", "7")),
            head.headers.end());
  ASSERT_TRUE(head.stream);
  stream->write("part one");
  InvokeResult result;
  result.function_error = true;
  result.payload = R"({"errorType":"Boom","errorMessage":"mid-stream"})";
  stream->complete(result);
  stream->complete(result);  // once only
  auto taken = head.stream->take_or_wait([] {});
  EXPECT_TRUE(taken.finished);
  auto events = decode(taken.data);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].payload, "part one");
  EXPECT_EQ(nlohmann::json::parse(events[1].payload)["ErrorCode"], "Boom");
  EXPECT_EQ(answers.replies.size(), 1u);
}

TEST(InvokeStreamResponse, AnswersWholeWhenTheFunctionDidNotStream) {
  Answers answers;
  InvokeStreamResponse stream(answers.reply(), false, "req-2");
  InvokeResult result;
  result.payload = R"({"whole":true})";
  result.executed_version = "3";
  stream.complete(result);
  stream.begin("text/plain", "3");  // too late: ignored
  ASSERT_EQ(answers.replies.size(), 1u);
  const HttpResponse& r = answers.replies[0];
  EXPECT_FALSE(r.stream);
  auto events = decode(r.body);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].headers[":event-type"], "PayloadChunk");
  EXPECT_EQ(events[0].payload, R"({"whole":true})");
  EXPECT_EQ(events[1].headers[":event-type"], "InvokeComplete");

  Answers refused;
  InvokeStreamResponse throttled(refused.reply(), false, "req-3");
  InvokeResult too_many;
  too_many.api_error = ApiError::too_many_requests(
      "Rate Exceeded.", "ReservedFunctionConcurrentInvocationLimitExceeded");
  throttled.complete(too_many);
  ASSERT_EQ(refused.replies.size(), 1u);
  EXPECT_EQ(refused.replies[0].status, 429);
}

}  // namespace
}  // namespace api
